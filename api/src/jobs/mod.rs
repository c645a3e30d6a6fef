//! The jobs feature: requests parsed into new jobs, their submission, the wire views, waiting
//! for a job to finish, its items, its event stream, and the `/v1/jobs` routes.

pub mod batch_request;
pub mod comment_items;
pub mod comments_request;
pub mod dispatch_wakeup;
pub mod events;
pub mod feed_request;
pub mod feed_submit;
pub mod feed_targets;
pub mod item_view;
pub mod items;
pub mod lookup;
pub mod request;
pub mod result;
pub mod routes;
pub mod submit;
pub mod thumbnail_analysis_view;
pub mod transcript_view;
pub mod view;
pub mod wait;
