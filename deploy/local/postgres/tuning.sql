-- LienThong's tuning of the PostgreSQL database behind the local FerretDB 1.24 (docs/adr/0003).
-- Applied by deploy/local/infra.sh at every start, after PostgreSQL and before FerretDB; idempotent.
-- Bump the version when the file changes: infra.sh logs which version is in force.
--   tuning-version: 3
--
-- 1. FerretDB's equality filter is `_jsonb->$1 @> $2`. With generic plans the key is a parameter and no
--    expression index can match; custom plans make the key a constant that a GIN expression index serves.
-- 2. Every btree expression index FerretDB creates (the `_id_` index of each table, and those of
--    `createIndexes`) gets a GIN `jsonb_path_ops` companion on the same expression
--    (`fastupdate = off`: with the pending list look-ups slowed down again as the table grew).
-- 3. FerretDB applies an update as read -> modify in Go -> UPDATE by _id without a transaction, so two
--    concurrent updates of one document can both "succeed" and one is lost. A BEFORE UPDATE trigger on
--    every FerretDB table refuses (SQLSTATE 40001) a write of a document carrying the store's revision
--    `_rev` unless it is the stored one + 1, which makes `find_one_and_update({_id, _rev: r},
--    {..., $inc: {_rev: 1}})` a real compare-and-set. shared/store.py retries the refusal.
-- 4. (version 3) A document carrying `_sealed` is being moved to its archive collection
--    (shared/lifecycle.py): it took the seal by a compare-and-set, and from then on every update is refused,
--    so the archiver's delete (FerretDB: read, then DELETE by _id) cannot remove a write made after its copy.

DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
END $$;

-- tuning-version 1 guarded a field named `version`, which the domain owns: drop it with its triggers
DROP FUNCTION IF EXISTS lienthong_version_guard() CASCADE;

CREATE OR REPLACE FUNCTION lienthong_revision_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  stored numeric := COALESCE((OLD._jsonb ->> '_rev')::numeric, 0);
  written numeric := (NEW._jsonb ->> '_rev')::numeric;
BEGIN
  IF OLD._jsonb ? '_sealed' THEN
    RAISE EXCEPTION 'lienthong revision conflict: document sealed for archiving'
      USING ERRCODE = 'serialization_failure';
  END IF;
  IF written IS NULL THEN
    IF OLD._jsonb ? '_rev' THEN
      RAISE EXCEPTION 'lienthong revision conflict: revision removed (stored %)', stored
        USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN NEW;  -- a document never written through shared/store.py: no guard asked for
  END IF;
  IF written <> stored + 1 THEN
    RAISE EXCEPTION 'lienthong revision conflict: stored %, written %', stored, written
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN NEW;
END $$;

-- Give one FerretDB table its revision guard (idempotent). Its `_id` look-ups get their GIN index as the
-- companion of the `_id_` btree index FerretDB creates with the table (lienthong_tune_index).
CREATE OR REPLACE FUNCTION lienthong_tune_table(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = '_jsonb' AND NOT attisdropped) THEN
    RETURN;  -- not a FerretDB collection table
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = tbl AND tgname = 'lienthong_revision_guard') THEN
    EXECUTE format('CREATE TRIGGER lienthong_revision_guard BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION lienthong_revision_guard()', tbl);
  END IF;
END $$;

-- Give one btree expression index on a FerretDB table a GIN companion per expression (idempotent).
CREATE OR REPLACE FUNCTION lienthong_tune_index(idx regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  info record;
  expr text;
  k int;
BEGIN
  SELECT i.indrelid::regclass AS tbl, c.relname AS name, a.amname AS am, i.indnatts AS n, i.indexprs IS NOT NULL AS has_exprs
    INTO info
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
   WHERE i.indexrelid = idx;
  IF info IS NULL OR info.am <> 'btree' OR NOT info.has_exprs THEN
    RETURN;
  END IF;
  FOR k IN 1..info.n LOOP
    expr := pg_get_indexdef(idx, k, false);
    CONTINUE WHEN expr NOT LIKE '%_jsonb -> %';
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((%s) jsonb_path_ops) WITH (fastupdate = off)',
                   left(info.name, 48) || '_g' || k, info.tbl, expr);
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION lienthong_on_ddl() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    IF r.command_tag = 'CREATE TABLE' AND r.object_type = 'table' THEN
      PERFORM lienthong_tune_table(r.objid::regclass);
    ELSIF r.command_tag = 'CREATE INDEX' AND r.object_type = 'index' THEN
      PERFORM lienthong_tune_index(r.objid::regclass);
    END IF;
  END LOOP;
END $$;

DROP EVENT TRIGGER IF EXISTS lienthong_on_ddl;
CREATE EVENT TRIGGER lienthong_on_ddl ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'CREATE INDEX')
  EXECUTE FUNCTION lienthong_on_ddl();

-- Tables and indexes that existed before this file was applied (an older data directory).
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') LOOP
    PERFORM lienthong_tune_table(r.oid::regclass);
  END LOOP;
  FOR r IN SELECT i.indexrelid AS oid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') LOOP
    PERFORM lienthong_tune_index(r.oid::regclass);
  END LOOP;
END $$;
