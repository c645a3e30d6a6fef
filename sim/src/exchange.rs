//! The request and response values passed between the simulator's network front door
//! (`server`) and its models (`site` for TikTok, `openai` for the vision API).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};

/// Whether the request arrived in clear (plain proxied HTTP or a direct request) or inside a
/// TLS-terminated CONNECT tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// One HTTP request, as the models see it.
#[derive(Debug, Clone)]
pub struct SimRequest {
    pub method: Method,
    pub scheme: Scheme,
    /// Lower-case host name without port (from the absolute URI, the CONNECT target or `Host`).
    pub host: String,
    /// Path as received (still percent-encoded), always starting with `/`.
    pub path: String,
    /// Raw query string without `?`, if any.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl SimRequest {
    /// First value of a query parameter, percent-decoded (`+` is a space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// Value of a cookie sent in any `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .find_map(|value| {
                value.to_str().ok()?.split(';').find_map(|pair| {
                    let (key, val) = pair.trim().split_once('=')?;
                    (key == name).then(|| val.trim_matches('"').to_string())
                })
            })
    }

    /// The `User-Agent` header, or `""`.
    pub fn user_agent(&self) -> &str {
        self.headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    /// `https://host/path?query` as the client meant it.
    pub fn url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        match &self.query {
            Some(query) => format!("{scheme}://{}{}?{query}", self.host, self.path),
            None => format!("{scheme}://{}{}", self.host, self.path),
        }
    }
}

/// One HTTP response produced by a model. The front door adds `Content-Length` and `Date`.
#[derive(Debug, Clone)]
pub struct SimResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl SimResponse {
    pub fn new(status: StatusCode) -> Self {
        SimResponse {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// A response with a body and its content type.
    pub fn with_body(
        status: StatusCode,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Self {
        let mut response = SimResponse::new(status);
        response
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response.body = body.into();
        response
    }

    pub fn html(status: StatusCode, body: impl Into<Bytes>) -> Self {
        SimResponse::with_body(status, "text/html; charset=utf-8", body)
    }

    pub fn json(status: StatusCode, value: &serde_json::Value) -> Self {
        SimResponse::with_body(status, "application/json; charset=utf-8", value.to_string())
    }

    pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Self {
        SimResponse::with_body(status, "text/plain; charset=utf-8", body)
    }

    /// A redirect with `Location`.
    pub fn redirect(status: StatusCode, location: &str) -> Self {
        let mut response = SimResponse::new(status);
        if let Ok(value) = HeaderValue::from_str(location) {
            response.headers.insert(header::LOCATION, value);
        }
        response
    }

    /// Appends a header (several `Set-Cookie` lines are allowed).
    pub fn append_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.append(name, value);
        }
        self
    }
}
