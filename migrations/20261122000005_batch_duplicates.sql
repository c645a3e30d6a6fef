-- tokworks batch jobs: a URL repeated in one batch (same video id, or same canonical URL when the
-- id is not known before resolving) is extracted once. The first occurrence is an ordinary item;
-- every later one is an item linked to it by `duplicate_of`: never enqueued nor claimed, it
-- finishes with the first one's result or error in the same transaction (see ARCHITECTURE.md).
alter table job_items
    add column duplicate_of uuid references job_items (item_id) on delete cascade;
create index job_items_by_duplicate_of on job_items (duplicate_of) where duplicate_of is not null;
