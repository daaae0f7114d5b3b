-- Ask, rate and complain, and the person's space (issue 16; docs/voice.md): questions and each
-- item's FAQ, ratings (好差评) with the rectification tasks and appeals they lead to, notices in
-- the person's space. Ratings, task events and appeals are records: a trigger refuses deleting
-- them and changing anything but the columns their lifecycle moves (some only once, from null).
-- Free text people write (comments, complaints, questions, answers, call-back notes) may name
-- them and is encrypted; people are found through blind indexes.

-- The staff roles of this part, in the cases' grants: answerer (answers questions), rectifier
-- (works rectification tasks, appeals a mistaken rating), supervisor (reviews appeals against
-- ratings of the authorities it supervises).
ALTER TABLE case_staff_grants DROP CONSTRAINT case_staff_grants_role_check;
ALTER TABLE case_staff_grants ADD CONSTRAINT case_staff_grants_role_check
  CHECK (role IN ('receiver', 'acceptor', 'reviewer', 'decider', 'sender', 'answerer', 'rectifier', 'supervisor'));

-- Arguments: the columns a lifecycle may change, then '|', then the columns it sets once (from
-- null). Every other column never changes; no row is ever deleted.
CREATE FUNCTION voice_record_is_kept() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  free text[] := '{}';
  once text[] := '{}';
  after_bar boolean := false;
  col text;
BEGIN
  IF TG_OP <> 'UPDATE' THEN
    RAISE EXCEPTION '% keeps its records: they are never removed', TG_TABLE_NAME;
  END IF;
  FOR i IN 0 .. TG_NARGS - 1 LOOP
    IF TG_ARGV[i] = '|' THEN after_bar := true;
    ELSIF after_bar THEN once := once || TG_ARGV[i];
    ELSE free := free || TG_ARGV[i];
    END IF;
  END LOOP;
  IF (to_jsonb(NEW) - (free || once)) IS DISTINCT FROM (to_jsonb(OLD) - (free || once)) THEN
    RAISE EXCEPTION '% %: a record is not edited after it is written', TG_TABLE_NAME, OLD.id;
  END IF;
  FOREACH col IN ARRAY once LOOP
    IF (to_jsonb(OLD) -> col) <> 'null'::jsonb AND (to_jsonb(OLD) -> col) IS DISTINCT FROM (to_jsonb(NEW) -> col) THEN
      RAISE EXCEPTION '% %: % is set once', TG_TABLE_NAME, OLD.id, col;
    END IF;
  END LOOP;
  RETURN NEW;
END
$$;

-- Time limits of each platform, in working days on the case calendar (docs/voice.md).
CREATE TABLE voice_limits (
  platform            text PRIMARY KEY,      -- a platform's code; '*' for every platform without a row
  call_back_days      integer NOT NULL CHECK (call_back_days BETWEEN 0 AND 30),
  rectify_days        integer NOT NULL CHECK (rectify_days BETWEEN 1 AND 60),
  appeal_days         integer NOT NULL CHECK (appeal_days BETWEEN 1 AND 30),
  appeal_review_days  integer NOT NULL CHECK (appeal_review_days BETWEEN 1 AND 30),
  answer_days         integer NOT NULL CHECK (answer_days BETWEEN 1 AND 30),
  updated_by          text NOT NULL,
  updated_at          timestamptz NOT NULL DEFAULT now()
);
INSERT INTO voice_limits (platform, call_back_days, rectify_days, appeal_days, appeal_review_days, answer_days, updated_by)
  VALUES ('*', 1, 15, 5, 10, 5, 'migration 008');

-- One rating per case and stage (acceptance, closure), online, by the applicant.
CREATE TABLE ratings (
  id             bigserial PRIMARY KEY,
  case_id        bigint NOT NULL REFERENCES cases (id),
  case_number    text NOT NULL,
  stage          text NOT NULL CHECK (stage IN ('acceptance', 'closure')),
  platform       text NOT NULL,
  authority      text NOT NULL,              -- the authority that handled the case (谁办理谁负责)
  item_code      text NOT NULL,
  item_name      text NOT NULL,
  level          smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
  criteria       jsonb NOT NULL,             -- the rater's level per criterion they rated
  comment_enc    text,
  complaint_enc  text,                       -- a complaint (投诉), when the rater made one
  real_name      boolean NOT NULL,           -- false: the rater asked not to be named to the authority
  rater_index    text NOT NULL,              -- blind index of the rater's ID number
  rater_enc      text NOT NULL,              -- {name, id_number, phone}: for the call-back
  issuer         text NOT NULL,
  client_id      text NOT NULL,
  status         text NOT NULL CHECK (status IN ('recorded', 'rectifying', 'appealed', 'settled', 'annulled')),
  rated_at       timestamptz NOT NULL,
  rated_on       date NOT NULL,
  UNIQUE (case_id, stage)
);
CREATE INDEX ratings_rater ON ratings (rater_index, id DESC);
CREATE INDEX ratings_stats ON ratings (authority, item_code);
CREATE TRIGGER ratings_kept BEFORE UPDATE OR DELETE ON ratings
  FOR EACH ROW EXECUTE FUNCTION voice_record_is_kept('status');

-- The work a bad rating or a complaint gives the handling authority.
CREATE TABLE rectification_tasks (
  id                bigserial PRIMARY KEY,
  rating_id         bigint NOT NULL UNIQUE REFERENCES ratings (id),
  authority         text NOT NULL,
  platform          text NOT NULL,
  case_number       text NOT NULL,
  item_code         text NOT NULL,
  call_back_needed  boolean NOT NULL,        -- the rater is named: a call-back comes before any resolution
  opened_on         date NOT NULL,
  call_back_due_on  date NOT NULL,
  rectify_days      integer NOT NULL,        -- the platform's limit when the task was opened
  state             text NOT NULL CHECK (state IN ('open', 'rectifying', 'on_appeal', 'resolved', 'closed', 'withdrawn')),
  due_on            date,                    -- null while an appeal stops the clock
  called_back_on    date,                    -- the first call-back
  resolution        text CHECK (resolution IN ('fixed_now', 'fixed_by_date', 'without_basis')),
  answered_on       date,                    -- when the authority gave its resolution: what "on time" is measured by
  fix_by            date,                    -- the ledger's date of a fix by a date (整改台账)
  fixed_on          date,
  rater_view        text CHECK (rater_view IN ('satisfied', 'unsatisfied')),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rectification_queue ON rectification_tasks (authority, due_on, id) WHERE state IN ('open', 'rectifying');
CREATE INDEX rectification_stats ON rectification_tasks (authority, item_code);
CREATE TRIGGER rectification_tasks_kept BEFORE UPDATE OR DELETE ON rectification_tasks
  FOR EACH ROW EXECUTE FUNCTION voice_record_is_kept('state', 'due_on', 'updated_at', '|',
    'called_back_on', 'resolution', 'answered_on', 'fix_by', 'fixed_on', 'rater_view');

-- Every step of a task, as it happened: who, what, and what was said.
CREATE TABLE rectification_events (
  id          bigserial PRIMARY KEY,
  task_id     bigint NOT NULL REFERENCES rectification_tasks (id),
  event       text NOT NULL,
  from_state  text NOT NULL,
  to_state    text NOT NULL,
  actor_role  text NOT NULL,                 -- a staff role, 'rater' or 'system'
  actor       text NOT NULL,                 -- a staff grant's person index, 'rater' or 'system'
  authority   text,
  facts       jsonb NOT NULL DEFAULT '{}'::jsonb,   -- what is not personal: reached, resolution, fix_by
  note_enc    text,                          -- what was said
  at          timestamptz NOT NULL
);
CREATE INDEX rectification_events_task ON rectification_events (task_id, id);
CREATE TRIGGER rectification_events_kept BEFORE UPDATE OR DELETE ON rectification_events
  FOR EACH ROW EXECUTE FUNCTION voice_record_is_kept();

-- An appeal by the handling authority against a mistaken rating, reviewed by the supervising
-- authority: one per rating, decided once.
CREATE TABLE rating_appeals (
  id                   bigserial PRIMARY KEY,
  rating_id            bigint NOT NULL UNIQUE REFERENCES ratings (id),
  task_id              bigint NOT NULL REFERENCES rectification_tasks (id),
  authority            text NOT NULL,
  supervisor           text NOT NULL,
  reason_enc           text NOT NULL,
  filed_by             text NOT NULL,
  filed_at             timestamptz NOT NULL,
  filed_on             date NOT NULL,
  due_on               date NOT NULL,
  decision             text CHECK (decision IN ('upheld', 'rejected')),
  decision_reason_enc  text,
  decided_by           text,
  decided_at           timestamptz,
  decided_on           date
);
CREATE INDEX rating_appeals_pending ON rating_appeals (supervisor, due_on) WHERE decision IS NULL;
CREATE TRIGGER rating_appeals_kept BEFORE UPDATE OR DELETE ON rating_appeals
  FOR EACH ROW EXECUTE FUNCTION voice_record_is_kept('|', 'decision', 'decision_reason_enc', 'decided_by', 'decided_at', 'decided_on');

CREATE TRIGGER ratings_no_truncate BEFORE TRUNCATE ON ratings FOR EACH STATEMENT EXECUTE FUNCTION voice_record_is_kept();
CREATE TRIGGER rectification_tasks_no_truncate BEFORE TRUNCATE ON rectification_tasks FOR EACH STATEMENT EXECUTE FUNCTION voice_record_is_kept();
CREATE TRIGGER rectification_events_no_truncate BEFORE TRUNCATE ON rectification_events FOR EACH STATEMENT EXECUTE FUNCTION voice_record_is_kept();
CREATE TRIGGER rating_appeals_no_truncate BEFORE TRUNCATE ON rating_appeals FOR EACH STATEMENT EXECUTE FUNCTION voice_record_is_kept();

-- Questions (我要问) about an item or a case.
CREATE TABLE questions (
  id            bigserial PRIMARY KEY,
  asker_index   text NOT NULL,
  asker_enc     text NOT NULL,               -- {name, id_number, phone}: for the answer's notice
  issuer        text NOT NULL,
  client_id     text NOT NULL,
  item_code     text NOT NULL,
  item_name     text NOT NULL,
  case_number   text,
  authority     text NOT NULL,               -- whose queue it goes to
  platform      text NOT NULL,
  text_enc      text NOT NULL,
  state         text NOT NULL CHECK (state IN ('offered', 'self_answered', 'queued', 'answered', 'published')),
  offered       jsonb NOT NULL DEFAULT '[]'::jsonb,   -- the FAQ entries and guide sections offered first
  asked_at      timestamptz NOT NULL,
  queued_on     date,
  due_on        date,
  answer_enc    text,
  answered_by   text,
  answered_at   timestamptz,
  answered_on   date,
  faq_id        bigint,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX questions_queue ON questions (authority, due_on, id) WHERE state = 'queued';
CREATE INDEX questions_asker ON questions (asker_index, id DESC);

-- Each item's frequently asked questions: published by its authority, searched as the catalog is.
CREATE TABLE item_faq (
  id               bigserial PRIMARY KEY,
  item_code        text NOT NULL,
  question         text NOT NULL,
  answer           text NOT NULL,
  search_tokens    tsvector NOT NULL,
  source_question  bigint REFERENCES questions (id),
  authority        text NOT NULL,
  published_by     text NOT NULL,
  published_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX item_faq_item ON item_faq (item_code, id);
CREATE INDEX item_faq_tokens ON item_faq USING gin (search_tokens);

-- Notices in the person's space (我的消息), each with why it was sent; one per dedupe key, so
-- standing notices worked out again do not repeat.
CREATE TABLE space_notices (
  id            bigserial PRIMARY KEY,
  person_index  text NOT NULL,
  category      text NOT NULL,
  text          text NOT NULL,
  reason        text NOT NULL,
  link          jsonb NOT NULL DEFAULT '{}'::jsonb,
  dedupe_key    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (person_index, dedupe_key)
);
CREATE INDEX space_notices_person ON space_notices (person_index, id DESC);

-- Categories a person turned off (or on again).
CREATE TABLE space_notice_settings (
  person_index  text NOT NULL,
  category      text NOT NULL,
  enabled       boolean NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (person_index, category)
);
