//! The result of a succeeded video job on the wire (`result` of `GET /v1/jobs/{id}`): the stored
//! `Video`'s fields with `cache_hit`, `transcript` and `thumbnail_analysis` beside them.
//!
//! Objects holding a `Video` are written with their keys in alphabetical order, as the API has
//! always sent them (they were passed through from `jsonb` before `Video` was typed to the api).

use serde::ser::Error as _;
use serde::{Serialize, Serializer};
use serde_json::Value;
use tokworks_shared::video::Video;

use crate::jobs::thumbnail_analysis_view::ThumbnailAnalysisResponse;
use crate::jobs::transcript_view::TranscriptResponse;

/// A succeeded video job's result.
#[derive(Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct VideoResultResponse {
    /// The `Video`, its fields at the top level of `result`.
    #[serde(flatten)]
    pub video: Video,
    /// Served from the cache (`CACHE_TTL_SECONDS`) without fetching from TikTok.
    pub cache_hit: bool,
    /// The transcript when the job asked for one (`options.transcript`), else null.
    pub transcript: Option<TranscriptResponse>,
    /// The thumbnail analysis when the job asked for one (`options.analyze_thumbnail`), else
    /// null.
    pub thumbnail_analysis: Option<ThumbnailAnalysisResponse>,
}

impl Serialize for VideoResultResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(mut object) =
            serde_json::to_value(&self.video).map_err(S::Error::custom)?
        else {
            return Err(S::Error::custom("a Video serialises to a JSON object"));
        };
        object.insert("cache_hit".to_owned(), Value::Bool(self.cache_hit));
        object.insert(
            "transcript".to_owned(),
            serde_json::to_value(&self.transcript).map_err(S::Error::custom)?,
        );
        object.insert(
            "thumbnail_analysis".to_owned(),
            serde_json::to_value(&self.thumbnail_analysis).map_err(S::Error::custom)?,
        );
        object.serialize(serializer)
    }
}

/// Writes `video` with its keys (at every depth) in alphabetical order.
pub fn serialize_video<S: Serializer>(video: &Video, serializer: S) -> Result<S::Ok, S::Error> {
    serde_json::to_value(video)
        .map_err(S::Error::custom)?
        .serialize(serializer)
}

/// [`serialize_video`] of an optional video (`null` when absent).
pub fn serialize_optional_video<S: Serializer>(
    video: &Option<Video>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match video {
        Some(video) => serialize_video(video, serializer),
        None => serializer.serialize_none(),
    }
}
