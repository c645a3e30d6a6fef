//! The 503 answers in the OpenAPI document: every operation that needs a key (those documenting
//! a 401) can answer `503 NOT_READY` (the database is down, out of pooled connections in time,
//! or past `statement_timeout`) or `503 REQUEST_TIMEOUT` (past REQUEST_TIMEOUT_SECONDS), both
//! with `Retry-After`; added here so no route's annotation can forget them.

use utoipa::Modify;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, RefOr, ResponseBuilder, Schema, Type};

/// Adds the 503 of an unavailable database or a request past its time.
pub struct UnavailableResponses;

impl Modify for UnavailableResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let response = ResponseBuilder::new()
            .description(
                "`NOT_READY`: the database is down, has no free connection in time, or a \
                 statement outlived DATABASE_STATEMENT_TIMEOUT_SECONDS; or `REQUEST_TIMEOUT`: \
                 the request outlived REQUEST_TIMEOUT_SECONDS. Nothing accepted is lost; \
                 `Retry-After` says when to retry.",
            )
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
                HeaderBuilder::new()
                    .schema(Schema::Object(
                        utoipa::openapi::schema::ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .build(),
                    ))
                    .description(Some("Seconds to wait before retrying."))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                if responses.contains_key("401") && !responses.contains_key("503") {
                    responses.insert("503".to_owned(), RefOr::T(response.clone()));
                }
            }
        }
    }
}
