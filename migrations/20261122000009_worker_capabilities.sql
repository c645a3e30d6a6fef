-- What each live worker process can do, so that the api can report it truthfully (the old
-- analyzer's /health `dependencies.openai` and /supported-platforms `thumbnail_analysis`):
-- the api never sees the workers' OPENAI_API_KEY.
alter table worker_heartbeats
    add column vision_configured boolean not null default false;
