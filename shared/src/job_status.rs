//! The statuses of jobs and items (the `jobs.status` and `job_items.status` text columns, whose
//! CHECK constraints list the same values), of an item's enrichment stages
//! (`job_items.transcript_status`, `job_items.analysis_status`) and the kinds of jobs
//! (`jobs.kind`).

use serde::{Deserialize, Serialize};

/// Generates `as_str`, `ALL`, `from_wire` and `Display` for a text-backed enum.
macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in the order of the column's CHECK constraint.
            pub const ALL: [$name; [$($name::$variant),+].len()] = [$($name::$variant),+];

            /// The wire and column value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value named `text`, or `None` when it names none.
            pub fn from_wire(text: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|value| value.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(self.as_str())
            }
        }
    };
}

/// What a job processes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum JobKind {
    /// One video URL (one item).
    Video,
    /// A list of video URLs (one item each).
    Batch,
    /// TikTok's trending feed.
    Trending,
    /// A hashtag's feed.
    Hashtag,
    /// A user's posts.
    User,
    /// TikTok's video search for a query.
    Search,
    /// The videos that use one sound (music id).
    Sound,
    /// The comments (and, when asked, replies) of one video.
    Comments,
}

text_enum!(JobKind {
    Video => "video",
    Batch => "batch",
    Trending => "trending",
    Hashtag => "hashtag",
    User => "user",
    Search => "search",
    Sound => "sound",
    Comments => "comments",
});

impl JobKind {
    /// Whether the job is a feed of videos served by a feed walk (trending, hashtag, user,
    /// search, sound).
    pub fn is_feed(self) -> bool {
        matches!(
            self,
            JobKind::Trending | JobKind::Hashtag | JobKind::User | JobKind::Search | JobKind::Sound
        )
    }
}

/// The status of a job.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    /// Every item succeeded.
    Succeeded,
    /// Some items succeeded (or a feed stopped short).
    Partial,
    /// No item succeeded.
    Failed,
    Canceled,
    /// Past `RETENTION_DAYS`: a tombstone (410 `JOB_EXPIRED`).
    Expired,
}

text_enum!(JobStatus {
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Partial => "partial",
    Failed => "failed",
    Canceled => "canceled",
    Expired => "expired",
});

impl JobStatus {
    /// The statuses a job can still leave (every other one is terminal).
    pub const UNFINISHED: [JobStatus; 2] = [JobStatus::Queued, JobStatus::Running];

    /// Whether the job can no longer change status.
    pub fn is_finished(self) -> bool {
        !JobStatus::UNFINISHED.contains(&self)
    }
}

/// The status of one item of a job.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ItemStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Canceled,
}

text_enum!(ItemStatus {
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Canceled => "canceled",
});

impl ItemStatus {
    /// Whether the item can no longer change status.
    pub fn is_finished(self) -> bool {
        !matches!(self, ItemStatus::Queued | ItemStatus::Running)
    }
}

/// How an item's transcript stage ended (`job_items.transcript_status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum TranscriptStatus {
    Succeeded,
    /// The post has no track in the requested language.
    Unavailable,
    Failed,
}

text_enum!(TranscriptStatus {
    Succeeded => "succeeded",
    Unavailable => "unavailable",
    Failed => "failed",
});

/// How an item's thumbnail analysis ended (`job_items.analysis_status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum AnalysisStatus {
    Succeeded,
    Failed,
}

text_enum!(AnalysisStatus {
    Succeeded => "succeeded",
    Failed => "failed",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_serde_and_from_wire() {
        for status in JobStatus::ALL {
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, status.as_str());
            assert_eq!(JobStatus::from_wire(status.as_str()), Some(status));
        }
        for status in ItemStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(ItemStatus::from_wire(status.as_str()), Some(status));
        }
        for kind in JobKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert_eq!(JobKind::from_wire(kind.as_str()), Some(kind));
        }
        assert_eq!(JobStatus::from_wire("done"), None);
    }

    #[test]
    fn only_queued_and_running_are_unfinished() {
        let unfinished: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|status| !status.is_finished())
            .collect();
        assert_eq!(unfinished, JobStatus::UNFINISHED);
        assert!(JobKind::User.is_feed() && !JobKind::Batch.is_feed());
    }
}
