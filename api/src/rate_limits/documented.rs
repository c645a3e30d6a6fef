//! The 429 answer of the per-key limits in the OpenAPI document: added to every operation that
//! needs a key (those documenting a 401), so no route's annotation can forget it.

use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, RefOr, ResponseBuilder, Schema, Type, schema::ObjectBuilder,
};

/// Adds the 429 of the per-key limits (with `Retry-After` and the RateLimit headers).
pub struct RateLimitResponses;

fn header(description: &str, schema_type: Type) -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(Schema::Object(
            ObjectBuilder::new().schema_type(schema_type).build(),
        ))
        .description(Some(description))
        .build()
}

fn add_to(operation: &mut Operation, submits: bool) {
    let responses = &mut operation.responses.responses;
    if !responses.contains_key("401") || responses.contains_key("429") {
        return;
    }
    let description = if submits {
        "The key's requests per second or URLs per minute are used up (`RATE_LIMITED`), or the \
         job's items would exceed its items in flight (`TOO_MANY_ITEMS_IN_FLIGHT`); \
         `Retry-After` says when to retry."
    } else {
        "The key's requests per second are used up (`RATE_LIMITED`); `Retry-After` says when \
         to retry."
    };
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .header(
            "Retry-After",
            header(
                "Seconds until the request would be admitted.",
                Type::Integer,
            ),
        )
        .header(
            "RateLimit-Policy",
            header(
                "The key's quotas, e.g. `\"requests\";q=50;w=1, \"urls\";q=6000;w=60`.",
                Type::String,
            ),
        )
        .header(
            "RateLimit",
            header(
                "What is left of each quota, e.g. `\"requests\";r=0;t=1, \"urls\";r=5990;t=1`.",
                Type::String,
            ),
        )
        .build();
    responses.insert("429".to_owned(), RefOr::T(response));
}

impl Modify for RateLimitResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let submit_path = matches!(
                path.as_str(),
                "/v1/jobs" | "/extract" | "/extract/batch" | "/trending" | "/category"
            );
            for (operation, submits) in [
                (item.get.as_mut(), submit_path && path != "/v1/jobs"),
                (item.post.as_mut(), submit_path),
                (item.put.as_mut(), false),
                (item.delete.as_mut(), false),
                (item.patch.as_mut(), false),
            ] {
                if let Some(operation) = operation {
                    add_to(operation, submits);
                }
            }
        }
    }
}
