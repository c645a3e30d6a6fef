//! The ids of the rows tokworks keeps, one newtype each, so that two ids of different things
//! cannot be swapped in a call (`end_item(connection, ItemId, ClaimId, …)`). Each is a UUID on
//! the wire, in JSON and in its `uuid` column.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Generates one id newtype over [`Uuid`].
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            Serialize,
            Deserialize,
            sqlx::Type,
            utoipa::ToSchema,
        )]
        #[sqlx(transparent)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id (UUID v7).
            pub fn new_v7() -> Self {
                $name(Uuid::now_v7())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(formatter)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map($name)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

uuid_id!(
    /// A job (`jobs.job_id`).
    JobId
);
uuid_id!(
    /// An item of a job (`job_items.item_id`).
    ItemId
);
uuid_id!(
    /// The fencing token of one claim of an item or a walk (`claim_id`).
    ClaimId
);
uuid_id!(
    /// A feed walk (`feed_walks.walk_id`).
    WalkId
);
uuid_id!(
    /// An API key (`api_keys.api_key_id`).
    ApiKeyId
);
uuid_id!(
    /// A webhook delivery (`webhook_deliveries.delivery_id`).
    DeliveryId
);
uuid_id!(
    /// A watch (`watches.watch_id`).
    WatchId
);
uuid_id!(
    /// One run of a watch (`watch_runs.run_id`).
    WatchRunId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_bare_uuid_in_json_and_text() {
        let uuid = Uuid::now_v7();
        let id = JobId(uuid);
        assert_eq!(serde_json::to_value(id).unwrap(), uuid.to_string());
        assert_eq!(id.to_string(), uuid.to_string());
        assert_eq!(uuid.to_string().parse::<JobId>().unwrap(), id);
        let back: ItemId = serde_json::from_value(serde_json::json!(uuid)).unwrap();
        assert_eq!(back.0, uuid);
    }
}
