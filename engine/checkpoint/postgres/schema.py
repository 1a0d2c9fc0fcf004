"""The Postgres schema of `PostgresSaver` and its migrations.

Migrations run automatically when a saver opens, in ONE transaction under a transaction-level
advisory lock: two processes opening a fresh database at once serialise on the lock, the
second finds the schema current and does nothing. Every statement is transactional (no
`CREATE INDEX CONCURRENTLY`), so a failed migration leaves nothing behind. A database whose
schema is newer than this code is refused, and nothing is written to it.

All tables carry the prefix `engine_` (the database may hold other things). Values are the JSON
text of engine/checkpoint/serde.py (never pickle); times are the fixed-width ISO-8601 UTC text
the records carry, so they sort as text; lease times are unix microseconds. `row_no` columns
keep insertion order where "latest" or ties mean "written last" (as SQLite's rowid does).
"""

from __future__ import annotations

from datetime import datetime, timezone

from engine.errors import StorageError

# A fixed key for pg_advisory_xact_lock: "AgIn" (agent inbox) in the high bits, 1 = migrations.
MIGRATION_LOCK = (0x4167496E << 8) | 1
# The events' ordering lock (events.py): writers take it shared, readers exclusive.
EVENTS_LOCK = (0x4167496E << 8) | 2

# A lease take ('take') first skips a row another transaction holds locked (no queueing behind a
# busy thread's commit); a row that is locked but may be free (another worker's take or renewal
# in flight, or one only checking it) is then waited for, at most TAKE_LOCK_WAIT, and judged by
# what that transaction left: free, expired or ours is taken, so nobody is told "busy" by a lock
# alone. Still locked after the wait: EL002 (someone is committing on that thread right now).
TAKE_LOCK_WAIT = "500ms"
STEP_FUNCTION = """CREATE FUNCTION engine_step(ops text[], t1 text[], t2 text[], t3 text[], t4 text[], t5 text[],
                                   t6 text[], t7 text[], t8 text[], t9 text[], t10 text[], t11 text[],
                                   b1 bytea[], b2 bytea[], i1 bigint[], i2 bigint[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    k integer;
    held record;
    found_row boolean;
    lock_wait text;
    events boolean := false;
BEGIN
    FOR k IN 1 .. coalesce(array_length(ops, 1), 0) LOOP
        CASE ops[k]
        WHEN 'checkpoint' THEN  -- thread, ns, id, parent; checkpoint, metadata
            INSERT INTO engine_checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint,
                                            metadata)
            VALUES (t1[k], t2[k], t3[k], t4[k], b1[k], b2[k])
            ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
                parent_checkpoint_id = excluded.parent_checkpoint_id, checkpoint = excluded.checkpoint,
                metadata = excluded.metadata;
        WHEN 'write' THEN  -- thread, ns, checkpoint id, task id, channel, task path; value
            INSERT INTO engine_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, channel, task_path, value)
            VALUES (t1[k], t2[k], t3[k], t4[k], t5[k], t6[k], b1[k])
            ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id, task_id, channel) DO UPDATE SET
                task_path = excluded.task_path, value = excluded.value;
        WHEN 'thread' THEN  -- the thread exists: thread, graph, at
            INSERT INTO engine_threads (thread_id, graph, status, created_at, updated_at, metadata)
            VALUES (t1[k], t2[k], 'idle', t3[k], t3[k], '{}') ON CONFLICT (thread_id) DO NOTHING;
        WHEN 'run' THEN  -- a run's status: thread, graph, status, at, metadata (NULL: kept)
            INSERT INTO engine_threads (thread_id, graph, status, created_at, updated_at, metadata)
            VALUES (t1[k], t2[k], t3[k], t4[k], t4[k], coalesce(t5[k], '{}'))
            ON CONFLICT (thread_id) DO UPDATE SET
                status = excluded.status,
                updated_at = excluded.updated_at,
                graph = CASE WHEN excluded.graph <> '' THEN excluded.graph ELSE engine_threads.graph END,
                metadata = CASE WHEN t5[k] IS NOT NULL THEN excluded.metadata ELSE engine_threads.metadata END;
        WHEN 'raised' THEN  -- id, thread, graph, ns, node, checkpoint id, payload, at, deadline, on_timeout, schema
            INSERT INTO engine_interrupts (id, thread_id, graph, ns, node, checkpoint_id, payload, created_at,
                                           deadline, on_timeout, status, response_schema)
            VALUES (t1[k], t2[k], t3[k], t4[k], t5[k], t6[k], t7[k], t8[k], t9[k], t10[k], 'pending', t11[k])
            ON CONFLICT (id) DO NOTHING;
        WHEN 'resolved' THEN  -- id, at, by, response
            UPDATE engine_interrupts SET
                resolved_at = CASE WHEN status = 'pending' THEN t2[k] ELSE resolved_at END,
                resolved_by = CASE WHEN status = 'pending' THEN t3[k] ELSE resolved_by END,
                response    = CASE WHEN status = 'pending' THEN t4[k] ELSE response END,
                status      = CASE WHEN status = 'pending' THEN 'resolved' ELSE status END,
                applied     = true
            WHERE id = t1[k] AND status <> 'cancelled';
        WHEN 'cancelled' THEN  -- id, at, reason
            UPDATE engine_interrupts SET status = 'cancelled', resolved_at = coalesce(resolved_at, t2[k]),
                resolved_by = coalesce(resolved_by, 'system'), reason = t3[k]
            WHERE id = t1[k] AND (status = 'pending' OR (status IN ('resolved', 'expired') AND NOT applied));
        WHEN 'overdue' THEN  -- id
            UPDATE engine_interrupts SET overdue = true WHERE id = t1[k] AND status = 'pending';
        WHEN 'expired' THEN  -- id, at, response
            UPDATE engine_interrupts SET status = 'expired', overdue = true, resolved_at = t2[k],
                resolved_by = 'deadline', response = t3[k], applied = false, reason = 'deadline passed'
            WHERE id = t1[k] AND status = 'pending';
        WHEN 'applied' THEN  -- id
            UPDATE engine_interrupts SET applied = true WHERE id = t1[k] AND status IN ('resolved', 'expired');
        WHEN 'claim' THEN  -- id, answer, expected, canonical, at, by
            PERFORM engine_claim(ARRAY[t1[k]], ARRAY[t2[k]], ARRAY[t3[k]], ARRAY[t4[k]], t5[k], t6[k]);
        WHEN 'take' THEN  -- thread, owner, who (EL002's message); expires, now
            SELECT owner, expires_at INTO held FROM engine_leases WHERE thread_id = t1[k] FOR UPDATE SKIP LOCKED;
            found_row := FOUND;
            IF NOT found_row AND EXISTS (SELECT 1 FROM engine_leases WHERE thread_id = t1[k]) THEN
                lock_wait := current_setting('lock_timeout');
                PERFORM set_config('lock_timeout', 'TAKE_LOCK_WAIT', true);
                BEGIN
                    SELECT owner, expires_at INTO held FROM engine_leases WHERE thread_id = t1[k] FOR UPDATE;
                    found_row := FOUND;
                EXCEPTION WHEN lock_not_available THEN
                    PERFORM set_config('lock_timeout', lock_wait, true);
                    RAISE EXCEPTION USING ERRCODE = 'EL002', MESSAGE = t3[k];
                END;
                PERFORM set_config('lock_timeout', lock_wait, true);
            END IF;
            IF found_row THEN
                IF held.owner <> t2[k] AND held.expires_at > i2[k] THEN
                    RAISE EXCEPTION USING ERRCODE = 'EL002', MESSAGE = t3[k];
                END IF;
                UPDATE engine_leases SET owner = t2[k], expires_at = i1[k], acquired_at = i2[k]
                WHERE thread_id = t1[k];
            ELSE  -- no lease yet (or released meanwhile); a racing insert is waited for and judged
                INSERT INTO engine_leases (thread_id, owner, expires_at, acquired_at)
                VALUES (t1[k], t2[k], i1[k], i2[k])
                ON CONFLICT (thread_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
                    acquired_at = excluded.acquired_at
                WHERE engine_leases.owner = excluded.owner OR engine_leases.expires_at <= i2[k];
                IF NOT FOUND THEN
                    RAISE EXCEPTION USING ERRCODE = 'EL002', MESSAGE = t3[k];
                END IF;
            END IF;
        WHEN 'expect' THEN  -- thread, the checkpoint id the run loaded (NULL: none), who (EL003's message)
            IF (SELECT checkpoint_id FROM engine_checkpoints WHERE thread_id = t1[k] AND checkpoint_ns = ''
                ORDER BY row_no DESC LIMIT 1) IS DISTINCT FROM t2[k] THEN
                RAISE EXCEPTION USING ERRCODE = 'EL003', MESSAGE = t3[k];
            END IF;
        WHEN 'renew' THEN  -- thread, owner; expires
            UPDATE engine_leases SET expires_at = i1[k] WHERE thread_id = t1[k] AND owner = t2[k];
            IF NOT FOUND THEN
                PERFORM engine_lease_lost(t1[k], t2[k]);
            END IF;
        WHEN 'release' THEN  -- thread, owner
            DELETE FROM engine_leases WHERE thread_id = t1[k] AND owner = t2[k];
            IF NOT FOUND THEN
                PERFORM engine_lease_lost(t1[k], t2[k]);
            END IF;
        WHEN 'event' THEN  -- at, thread, graph, kind, interrupt id, payload md5, if claimed; data, short data
            -- events go last in a step, under the events lock taken shared (events.py)
            IF NOT events THEN
                PERFORM pg_advisory_xact_lock_shared(EVENTS_LOCK);
                events := true;
            END IF;
            IF t7[k] IS NULL OR coalesce(nullif(current_setting('engine.claimed', true), '')::jsonb ? t7[k], false) THEN
                INSERT INTO engine_events (at, thread_id, graph, kind, data)
                VALUES (t1[k], t2[k], t3[k], t4[k],
                        CASE WHEN t6[k] IS NOT NULL AND (SELECT md5(i.payload) FROM engine_interrupts AS i
                                                         WHERE i.id = t5[k]) = t6[k] THEN b2[k] ELSE b1[k] END);
            END IF;
        ELSE
            RAISE EXCEPTION 'engine_step: unknown operation %', ops[k];
        END CASE;
    END LOOP;
    IF events THEN
        PERFORM pg_notify('engine_events', '');
    END IF;
    RETURN 0;
END $$""".replace("TAKE_LOCK_WAIT", TAKE_LOCK_WAIT).replace("EVENTS_LOCK", str(EVENTS_LOCK))
# A checkpoint row (the latest of thread/ns when `wanted` is NULL) with its pending writes as
# arrays in their order (CheckpointRows.get_tuple).
CHECKPOINT_FUNCTION = """CREATE FUNCTION engine_checkpoint(thread text, ns text, wanted text)
RETURNS TABLE (thread_id text, checkpoint_ns text, checkpoint_id text, parent_checkpoint_id text, checkpoint bytea,
               metadata bytea, task_ids text[], channels text[], write_values bytea[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
BEGIN
    IF wanted IS NULL THEN  -- the latest is the last written, as in InMemorySaver
        SELECT * INTO c FROM engine_checkpoints AS k WHERE k.thread_id = thread AND k.checkpoint_ns = ns
        ORDER BY k.row_no DESC LIMIT 1;
    ELSE
        SELECT * INTO c FROM engine_checkpoints AS k WHERE k.thread_id = thread AND k.checkpoint_ns = ns
        AND k.checkpoint_id = wanted;
    END IF;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.checkpoint, c.metadata,
        array_agg(w.task_id ORDER BY w.row_no), array_agg(w.channel ORDER BY w.row_no), array_agg(w.value ORDER BY w.row_no)
        FROM engine_writes AS w
        WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns AND w.checkpoint_id = c.checkpoint_id;
END $$"""


def _replaced(text: str, *pairs: tuple[str, str]) -> str:
    """`text` with each `old` (which occurs exactly once) replaced by its `new`: a migration's
    function, written as the change from the version before."""
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


# A run's claim of the answers it was given (version 3; see its migration).
CLAIM_FUNCTION_V3 = """CREATE FUNCTION engine_claim(ids text[], texts text[], expected text[], canonical text[],
                                at text, by text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    head record;
    audit text;
    digest text;
BEGIN
    FOR n IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
        SELECT id, thread_id, graph, created_at, status, applied, response, decided_user, decided_host
            INTO r FROM engine_interrupts WHERE id = ids[n] FOR UPDATE;
        CONTINUE WHEN NOT FOUND;
        IF r.status = 'pending' THEN
            UPDATE engine_interrupts SET status = 'resolved', resolved_at = at, resolved_by = by,
                response = texts[n], applied = false WHERE id = ids[n];
            SELECT seq, hash INTO head FROM engine_audit_head FOR UPDATE;
            audit := '{"by":' || to_json(by)::text || ',"decided_at":' || to_json(at)::text
                || ',"graph":' || to_json(r.graph)::text
                || ',"host":' || coalesce(to_json(r.decided_host)::text, 'null')
                || ',"interrupt_id":' || to_json(r.id)::text
                || ',"raised_at":' || to_json(r.created_at)::text
                || ',"response":' || canonical[n] || ',"status":"resolved"'
                || ',"thread_id":' || to_json(r.thread_id)::text
                || ',"user":' || coalesce(to_json(r.decided_user)::text, 'null') || '}';
            digest := encode(sha256(convert_to(head.hash || E'\\n' || audit, 'UTF8')), 'hex');
            UPDATE engine_audit_head SET seq = head.seq + 1, hash = digest;
            INSERT INTO engine_audit_log (seq, interrupt_id, at, row, hash)
                VALUES (head.seq + 1, r.id, at, audit, digest);
            PERFORM set_config('engine.claimed', (coalesce(nullif(current_setting('engine.claimed', true), '')::jsonb,
                '[]'::jsonb) || to_jsonb(r.id))::text, true);
        ELSIF r.status = 'cancelled' OR r.applied OR r.response IS DISTINCT FROM expected[n] THEN
            RAISE EXCEPTION USING ERRCODE = 'EL004', MESSAGE = json_build_array(r.id, texts[n])::text;
        END IF;
    END LOOP;
    RETURN 0;
END $$"""
# Version 6: the claim records the claiming run's token (engine_interrupts.claim_token).
CLAIM_FUNCTION = _replaced(
    CLAIM_FUNCTION_V3, ("at text, by text) RETURNS integer", "at text, by text, token text) RETURNS integer"),
    ("response = texts[n], applied = false WHERE", "response = texts[n], applied = false, claim_token = token WHERE"))
STEP_FUNCTION_V6 = _replaced(
    STEP_FUNCTION, ("CREATE FUNCTION engine_step(", "CREATE OR REPLACE FUNCTION engine_step("),
    ("-- id, answer, expected, canonical, at, by\n", "-- id, answer, expected, canonical, at, by, token\n"),
    ("t5[k], t6[k]);", "t5[k], t6[k], t7[k]);"))

MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE engine_threads (
            thread_id  text PRIMARY KEY,
            graph      text NOT NULL DEFAULT '',
            status     text NOT NULL DEFAULT 'idle'
                       CHECK (status IN ('idle', 'busy', 'interrupted', 'error', 'done')),
            created_at text NOT NULL,
            updated_at text NOT NULL,
            metadata   text NOT NULL DEFAULT '{}',
            row_no     bigserial
        )""",
        "CREATE INDEX engine_threads_by_status ON engine_threads (status, updated_at)",
        "CREATE INDEX engine_threads_by_updated ON engine_threads (updated_at, row_no)",
        # A checkpoint with its channel values, as serde JSON text (TOAST compresses large ones).
        """CREATE TABLE engine_checkpoints (
            thread_id            text NOT NULL,
            checkpoint_ns        text NOT NULL,
            checkpoint_id        text NOT NULL,
            parent_checkpoint_id text,
            checkpoint           text NOT NULL,
            metadata             text NOT NULL,
            row_no               bigserial,
            PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
        )""",
        "CREATE INDEX engine_checkpoints_latest ON engine_checkpoints (thread_id, checkpoint_ns, row_no)",
        """CREATE TABLE engine_writes (
            thread_id     text NOT NULL,
            checkpoint_ns text NOT NULL,
            checkpoint_id text NOT NULL,
            task_id       text NOT NULL,
            channel       text NOT NULL,
            task_path     text NOT NULL DEFAULT '',
            value         text NOT NULL,
            row_no        bigserial,
            PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, channel)
        )""",
        """CREATE TABLE engine_interrupts (
            id            text PRIMARY KEY,
            thread_id     text NOT NULL,
            graph         text NOT NULL DEFAULT '',
            ns            text NOT NULL DEFAULT '',
            node          text NOT NULL DEFAULT '',
            checkpoint_id text NOT NULL DEFAULT '',
            payload       text NOT NULL,
            created_at    text NOT NULL,
            deadline      text,
            on_timeout    text,
            status        text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'resolved', 'cancelled', 'expired')),
            overdue       boolean NOT NULL DEFAULT false,
            resolved_at   text,
            resolved_by   text,
            response      text,
            applied       boolean NOT NULL DEFAULT false,
            reason        text,
            decided_user  text,
            decided_host  text,
            row_no        bigserial
        )""",
        "CREATE INDEX engine_interrupts_pending ON engine_interrupts (created_at, row_no) WHERE status = 'pending'",
        "CREATE INDEX engine_interrupts_by_thread ON engine_interrupts (thread_id, status)",
        "CREATE INDEX engine_interrupts_by_deadline ON engine_interrupts (deadline) "
        "WHERE status = 'pending' AND deadline IS NOT NULL",
        "CREATE INDEX engine_interrupts_decided ON engine_interrupts (resolved_at, row_no) WHERE status <> 'pending'",
        "CREATE INDEX engine_interrupts_unapplied ON engine_interrupts (resolved_at, row_no) "
        "WHERE NOT applied AND status IN ('resolved', 'expired')",
        """CREATE TABLE engine_events (
            seq       bigserial PRIMARY KEY,
            at        text NOT NULL,
            thread_id text NOT NULL,
            graph     text NOT NULL DEFAULT '',
            kind      text NOT NULL,
            data      text NOT NULL
        )""",
        """CREATE TABLE engine_leases (
            thread_id   text PRIMARY KEY,
            owner       text NOT NULL,
            expires_at  bigint NOT NULL,
            acquired_at bigint NOT NULL
        )""",
        """CREATE TABLE engine_tool_calls (
            key          text PRIMARY KEY,
            thread_id    text NOT NULL,
            graph        text NOT NULL DEFAULT '',
            interrupt_id text,
            tool         text NOT NULL,
            args         text NOT NULL,
            attempt      integer NOT NULL DEFAULT 1,
            status       text NOT NULL CHECK (status IN ('started', 'done', 'failed', 'settled')),
            owner        text NOT NULL,
            started_at   text NOT NULL,
            finished_at  text,
            result       text,
            settled_by   text,
            settled_at   text
        )""",
        "CREATE INDEX engine_tool_calls_by_thread ON engine_tool_calls (thread_id, status)",
        # A step's lease renewal is queued in the step's pipeline: when the lease is not the run's
        # any more, this raises (SQLSTATE EL001) and the whole step rolls back.
        """CREATE FUNCTION engine_lease_lost(thread text, owner text) RETURNS integer
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'lease on thread % is not held by %', thread, owner
                USING ERRCODE = 'EL001';
        END $$""",
    ]),
    # Version 2 (SQLite's version 5): interrupts.response_schema (the JSON Schema an answer must
    # match; NULL: any answer), the tamper-evident audit log (engine/checkpoint/audit.py) and
    # rules (engine/checkpoint/rules.py). The audit log's head (the last seq and hash) is one
    # row every decision updates in its transaction: its row lock orders the chain by commit,
    # and a seq taken from it is rolled back with its transaction (a sequence's would leave a
    # gap verify_chain reports as a deletion). Decisions made before this version have no row.
    (2, [
        "ALTER TABLE engine_interrupts ADD COLUMN response_schema text",
        # A short id a person typed is a range in byte order (as SQLite compares ids), whatever
        # the database's collation: afind_interrupt_ids.
        'CREATE INDEX engine_interrupts_by_id_bytes ON engine_interrupts ((id COLLATE "C"))',
        """CREATE TABLE engine_audit_log (
            seq          bigint PRIMARY KEY,
            interrupt_id text NOT NULL,
            at           text NOT NULL,
            row          text NOT NULL,
            hash         text NOT NULL
        )""",
        "CREATE INDEX engine_audit_log_by_time ON engine_audit_log (at)",
        """CREATE TABLE engine_audit_head (
            one  boolean PRIMARY KEY DEFAULT true CHECK (one),
            seq  bigint NOT NULL,
            hash text NOT NULL
        )""",
        "INSERT INTO engine_audit_head (seq, hash) VALUES (0, '')",  # '' is audit.GENESIS
        # value is JSON text; a revoked rule stays (who revoked it, when).
        """CREATE TABLE engine_rules (
            id         text PRIMARY KEY,
            tool       text NOT NULL,
            arg        text,
            op         text,
            value      text,
            thread_id  text,
            expires_at text,
            created_by text NOT NULL,
            created_at text NOT NULL,
            revoked_at text,
            revoked_by text,
            row_no     bigserial
        )""",
    ]),
    # Version 3: packed values, and checks a step's commit makes without a round trip of their own. A run's first
    # step takes its lease in its commit's message: a statement that raises (SQLSTATE EL002,
    # the lease is someone else's; EL003, the thread moved on past the checkpoint the run
    # loaded) rolls the whole step back, and the saver turns the error into ThreadBusy or
    # ThreadMovedOn (ownership.py). The message is JSON the saver reads back.
    # The JSON texts nobody searches in SQL become bytea, deflated against a preset dictionary
    # (packed.py); the rows already there are kept as their UTF-8 text, which reads back as is.
    (3, [
        "ALTER TABLE engine_checkpoints ALTER COLUMN checkpoint TYPE bytea USING convert_to(checkpoint, 'UTF8'), "
        "ALTER COLUMN metadata TYPE bytea USING convert_to(metadata, 'UTF8')",
        "ALTER TABLE engine_writes ALTER COLUMN value TYPE bytea USING convert_to(value, 'UTF8')",
        "ALTER TABLE engine_events ALTER COLUMN data TYPE bytea USING convert_to(data, 'UTF8')",
        # Interrupt ids compare in byte order in the primary key itself, which then serves the
        # short-id ranges (afind_interrupt_ids) the second index of version 2 served.
        "DROP INDEX engine_interrupts_by_id_bytes",
        'ALTER TABLE engine_interrupts ALTER COLUMN id TYPE text COLLATE "C"',
        # A run's claim of the answers it was given, queued in its first commit (ownership.py):
        # each interrupt still pending is claimed and audited (the row as audit.audit_row
        # writes it: to_json escapes a string as json.dumps(ensure_ascii=False) does), and
        # named in the transaction's setting engine.claimed (its InterruptResolved event is
        # kept: events.py); one decided otherwise raises EL004 unless it holds `expected`.
        CLAIM_FUNCTION_V3,
        """CREATE FUNCTION engine_raise(code text, message text) RETURNS integer
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
        END $$""",
    ]),
    # Version 4 (SQLite's version 6): the Agent Server API's records (api_records.py): threads
    # created over the API and runs, with the server process that runs each (owner) and its
    # last heartbeat, so replicas of `inbox serve` take over only runs whose owner stopped.
    (4, [
        """CREATE TABLE engine_api_threads (
            thread_id  text PRIMARY KEY,
            created_at text NOT NULL,
            updated_at text NOT NULL,
            metadata   text NOT NULL DEFAULT '{}',
            row_no     bigserial
        )""",
        """CREATE TABLE engine_api_runs (
            run_id             text PRIMARY KEY,
            thread_id          text NOT NULL,
            assistant_id       text NOT NULL,
            graph_id           text NOT NULL,
            status             text NOT NULL,
            created_at         text NOT NULL,
            updated_at         text NOT NULL,
            metadata           text NOT NULL DEFAULT '{}',
            kwargs             text NOT NULL DEFAULT '{}',
            multitask_strategy text NOT NULL,
            result             text,
            owner              text,
            heartbeat_at       text,
            row_no             bigserial
        )""",
        "CREATE INDEX engine_api_runs_by_thread ON engine_api_runs (thread_id, created_at)",
        "CREATE INDEX engine_api_runs_unfinished ON engine_api_runs (created_at, row_no) "
        "WHERE status IN ('pending', 'running')",
    ]),
    # Version 5: a step's writes as ONE statement, `SELECT engine_step(...)` (step.py): the server
    # parses and plans a short call instead of every statement of the step, and the function's
    # statements keep their plans for the session (PL/pgSQL caches them; no client-side prepared
    # statement, so PgBouncer in transaction mode still works). The step's operations come as
    # rows of parallel arrays (`ops` names each row's kind; step.py says which column is what),
    # applied in order: exactly the statements versions 3 and 4 sent, with the same checks and
    # SQLSTATEs (EL001 lease lost, EL002 busy, EL003 moved on, EL004 through engine_claim).
    # The load of a run (get_tuple) as a call too: its plans cached, the server's CPU per load
    # halves (bench/postgres_profile.py).
    (5, [STEP_FUNCTION, CHECKPOINT_FUNCTION]),
    # Version 6 (SQLite's version 7): engine_interrupts.claim_token, the token of the run whose
    # claim decided the row ('claim' takes it in t7): a run given an answer equal to a decision
    # claimed before takes it as that decision (how a recovery re-applies one), and the token
    # tells `inbox serve` whether the decision was its own request's. Not audited.
    (6, ["ALTER TABLE engine_interrupts ADD COLUMN claim_token text",
         "DROP FUNCTION engine_claim(text[], text[], text[], text[], text, text)",
         CLAIM_FUNCTION, STEP_FUNCTION_V6]),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def _newer(where: str, version: int) -> StorageError:
    return StorageError(
        f"the database {where} was written by a newer version of this engine (schema version "
        f"{version}; this version understands up to {SCHEMA_VERSION}). It was left untouched; "
        "upgrade the package (pip install -U agent-inbox-tui) to open it.")


async def ensure_schema(conn, where: str) -> None:
    """Bring the schema up to date on `conn` (an autocommit psycopg AsyncConnection), in one
    transaction under the migration lock; refuse a newer schema. `where` names the database
    in messages (its redacted DSN)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS engine_schema ("
                           "version integer PRIMARY KEY, applied_at text NOT NULL)")
        row = await (await conn.execute("SELECT coalesce(max(version), 0) FROM engine_schema")).fetchone()
        version = row[0]
        if version > SCHEMA_VERSION:
            raise _newer(where, version)
        if version == SCHEMA_VERSION:
            return
        now = datetime.now(timezone.utc).isoformat()
        for target, statements in MIGRATIONS:
            if target <= version:
                continue
            for statement in statements:
                await conn.execute(statement)
            await conn.execute("INSERT INTO engine_schema (version, applied_at) VALUES (%s, %s)", (target, now))


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "MIGRATION_LOCK", "EVENTS_LOCK", "ensure_schema"]
