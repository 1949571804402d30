"""Routing's pure domain: the generated office registry and the ordered jurisdiction rules."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from services.routing.domain.registry import Office, build_registry
from services.routing.domain.rules import Facts, decide, load_rules
from shared.reference.admin_units import Province, provinces, wards_of
from shared.reference.offices import OfficeKind, parse_office_code
from shared.reference.procedures import Procedure, load_catalogue

REGISTRY = build_registry()
CATALOGUE = load_catalogue()


def procedure(code: str) -> Procedure:
    """A catalogue procedure that must exist."""
    found = CATALOGUE.get(code)
    assert found is not None, code
    return found


def facts(receiving: str | None = "00070", applicant: str = "00070", subject: str | None = None) -> Facts:
    """Facts of a dossier filed in Hà Nội (province 01)."""
    return Facts(
        province_code="01", receiving_ward_code=receiving, applicant_ward_code=applicant, subject_ward_code=subject
    )


def run(
    code: str,
    f: Facts,
    *,
    closed: Collection[str] = (),
    loads: dict[str, int] | None = None,
    exclude: Collection[str] = (),
) -> tuple[str | None, str, str]:
    """Decide with some offices closed and some loads; (office code, rule id, reason)."""
    decision = decide(
        procedure(code),
        f,
        registry=REGISTRY,
        available=lambda o: o.code not in closed,
        load=lambda o: (loads or {}).get(o.code, 0),
        exclude=exclude,
    )
    return (decision.office.code if decision.office else None), decision.rule_id, decision.reason


def hanoi_committees() -> list[Office]:
    """Every commune People's Committee of Hà Nội."""
    return REGISTRY.by_province_kind[("01", OfficeKind.COMMUNE_PEOPLE_COMMITTEE)]


def test_registry_covers_every_commune_and_province_with_stable_codes() -> None:
    """4 offices per commune and 7 per province (13,522), every code parses back to its unit and kind."""
    wards = sum(len(wards_of(p.code)) for p in provinces())
    assert (len(provinces()), wards) == (34, 3321)
    assert len(REGISTRY.offices) == wards * 4 + 34 * 7 == 13522
    for office in REGISTRY.offices.values():
        ref = parse_office_code(office.code)
        assert ref.kind is office.kind
        assert ref.unit_code == (office.ward_code or f"P{office.province_code}")
        assert ref.level == office.level
    assert REGISTRY.get("00070.UBND").level == "commune"  # type: ignore[union-attr]
    assert {o.code for o in REGISTRY.offices.values() if o.province_code == "01" and o.level == "province"} == {
        "P01.TTPVHCC",
        "P01.STP",
        "P01.SXD",
        "P01.SNNMT",
        "P01.STC",
        "P01.CAT",
        "P01.BHXH",
    }
    assert build_registry() is REGISTRY, "built once per process"


def test_rules_are_ordered_data_with_explanations() -> None:
    """The packaged rules load in file order, each with an id, a known strategy and both explanations."""
    rules = load_rules()
    assert [r.id for r in rules] == [
        "R10-subject-location-commune",
        "R20-boundary-free-commune",
        "R30-applicant-residence-commune",
        "R40-subject-location-province",
        "R50-province-department",
    ]
    assert all(r.explain_vi and r.explain_en for r in rules)
    # a reason is "<Vietnamese> / <English>" and the forms print the part before the first " / "
    assert not [r.id for r in rules if " / " in r.explain_vi]


def test_boundary_free_goes_to_the_receiving_commune_when_open() -> None:
    """A boundary-free commune procedure filed in A goes to A's committee, with the rule and reason recorded."""
    office, rule, reason = run("LT-HT-001", facts(receiving="00073", applicant="00070"))
    assert (office, rule) == ("00073.UBND", "R20-boundary-free-commune")
    assert "01" in reason and "/" in reason


def test_boundary_free_takes_least_loaded_commune_of_the_province_when_receiving_is_closed() -> None:
    """A closed: the least-loaded open committee of the same province, lowest code on ties, never elsewhere."""
    committees = hanoi_committees()
    loads = {o.code: 5 for o in committees}
    loads["00256.UBND"] = 1
    office, _, _ = run("LT-HT-001", facts(), closed={"00070.UBND"}, loads=loads)
    assert office == "00256.UBND"
    # every other committee equally loaded: the lowest code wins, deterministically
    office, _, _ = run("LT-HT-001", facts(), closed={"00070.UBND"})
    assert office == min(o.code for o in committees if o.code != "00070.UBND")
    assert REGISTRY.get(office).province_code == "01"  # type: ignore[union-attr]


def test_boundary_free_parks_rather_than_crossing_the_province() -> None:
    """With every committee of the province closed, the dossier is parked with a reason, not sent elsewhere."""
    office, rule, reason = run("LT-HT-001", facts(), closed={o.code for o in hanoi_committees()})
    assert office is None and rule == "R20-boundary-free-commune"
    assert "parked" in reason and "giữ" in reason


def test_land_procedure_goes_to_the_parcels_commune_whatever_the_receiving_commune() -> None:
    """Subject-location procedures follow the parcel; closed parcel commune parks instead of falling back."""
    office, rule, reason = run("LT-DD-001", facts(receiving="00070", applicant="00073", subject="00004"))
    assert (office, rule) == ("00004.UBND", "R10-subject-location-commune") and "00004" in reason
    office, _, _ = run("LT-DD-001", facts(subject="00004"), closed={"00004.UBND"})
    assert office is None


def test_non_boundary_free_procedure_goes_to_the_applicants_commune() -> None:
    """A procedure bound to residence goes to the applicant's commune, not the receiving one."""
    office, rule, _ = run("LT-XH-002", facts(receiving="00070", applicant="00073"))
    assert (office, rule) == ("00073.UBND", "R30-applicant-residence-commune")


def test_province_procedure_goes_to_the_competent_department() -> None:
    """Province-level procedures go to the department that owns them in the dossier's province."""
    assert run("LT-BH-001", facts())[:2] == ("P01.BHXH", "R50-province-department")
    assert run("LT-TP-001", facts())[0] == "P01.STP"
    assert run("LT-TP-001", facts(), closed={"P01.STP"})[0] is None


def test_excluded_offices_are_never_chosen() -> None:
    """Offices already tried are skipped even when open and least loaded."""
    office, _, _ = run("LT-HT-001", facts(), exclude={"00070.UBND"})
    assert office is not None and office != "00070.UBND"
    second, _, _ = run("LT-HT-001", facts(), exclude={"00070.UBND", office})
    assert second not in (None, "00070.UBND", office)


SUBJECT_LOCATED = [p for p in CATALOGUE.all() if p.subject_basis == "subject_location"]


def test_land_changes_and_other_located_province_procedures_follow_their_subject() -> None:
    """Land changes, certificate exchange, mortgages, large construction permits and food-safety certificates are
    decided by where their subject is (the catalogue says subject_location for each)."""
    located = {p.code for p in SUBJECT_LOCATED if p.level == "province"}
    assert {"LT-DD-002", "LT-DD-003", "LT-DD-004", "LT-XD-004", "LT-NN-001"} <= located


@pytest.mark.parametrize("province", [p for p in provinces() if p.code in {"22", "79", "48", "92", "04", "96"}])
def test_subject_located_province_procedures_go_to_the_subjects_province(province: Province) -> None:
    """Filed at a Hà Nội commune for a parcel (works, establishment) in another province: every subject-located
    province procedure goes to that province's competent department, named in the reason (R40)."""
    subject = wards_of(province.code)[len(wards_of(province.code)) // 2]
    located = [p for p in SUBJECT_LOCATED if p.level == "province"]
    assert located
    for proc in located:
        office, rule, reason = run(proc.code, facts(receiving="00070", applicant="00070", subject=subject.code))
        assert office is not None, proc.code
        chosen = REGISTRY.get(office)
        assert chosen is not None and chosen.province_code == province.code, (proc.code, office)
        assert chosen.kind is proc.competent_office_type and rule == "R40-subject-location-province"
        assert province.name in reason and subject.code in reason


@pytest.mark.parametrize("province", [p for p in provinces() if p.code in {"22", "79", "48", "92"}])
def test_subject_located_commune_procedures_go_to_the_subjects_commune_in_any_province(province: Province) -> None:
    """The commune-level subject-located procedures (R10) also cross the receiving province to the subject's commune."""
    subject = wards_of(province.code)[-1]
    located = [p for p in SUBJECT_LOCATED if p.level == "commune"]
    assert located
    for proc in located:
        office, rule, _ = run(proc.code, facts(receiving="00070", applicant="00070", subject=subject.code))
        chosen = REGISTRY.get(office or "")
        assert chosen is not None and chosen.ward_code == subject.code, (proc.code, office)
        assert chosen.kind is proc.competent_office_type and rule == "R10-subject-location-commune"


def test_r40_reads_the_subjects_province_from_the_administrative_units() -> None:
    """Whatever the catalogue says, the R40 strategy itself maps the subject's commune to its province (it used to
    look a province office kind up in the commune index and always fall back to the receiving province)."""
    located = procedure("LT-DD-002").model_copy(update={"subject_basis": "subject_location"})
    subject = wards_of("79")[3].code
    decision = decide(located, facts(subject=subject), registry=REGISTRY, available=lambda o: True, load=lambda o: 0)
    assert decision.office is not None and decision.office.code == "P79.SNNMT"


def test_subject_located_province_procedure_parks_when_the_subjects_department_is_closed() -> None:
    """A closed department of the subject's province parks the dossier; it never falls back to the receiving one."""
    subject = wards_of("22")[0].code
    office, rule, _ = run("LT-DD-002", facts(subject=subject), closed={"P22.SNNMT"})
    assert (office, rule) == (None, "R40-subject-location-province")
