"""Routing's pure domain: the generated office registry and the ordered jurisdiction rules."""

from __future__ import annotations

from collections.abc import Collection

from services.routing.domain.registry import Office, build_registry
from services.routing.domain.rules import Facts, decide, load_rules
from shared.admin_units import provinces, wards_of
from shared.offices import OfficeKind, parse_office_code
from shared.procedures import Procedure, load_catalogue

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
