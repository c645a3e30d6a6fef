-- tokworks job kinds of issue #15: `search` and `sound` (video feeds served by feed walks, like
-- `hashtag`) and `comments` (a video's comments, also walked). Both CHECK constraints list every kind.
alter table jobs drop constraint jobs_kind_check;
alter table jobs add constraint jobs_kind_check
    check (kind in ('video', 'batch', 'trending', 'hashtag', 'user', 'search', 'sound', 'comments'));
alter table feed_walks drop constraint feed_walks_kind_check;
alter table feed_walks add constraint feed_walks_kind_check
    check (kind in ('trending', 'hashtag', 'user', 'search', 'sound', 'comments'));
