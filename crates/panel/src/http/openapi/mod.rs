//! The OpenAPI 3.1 document of the API, built once at start-up from the route registry:
//! methods, paths and access rules from [`RouteSpec`], bodies, queries and responses from
//! the handlers' types ([`describe`]), schemas from the types' serde and garde attributes.

pub mod describe;

use std::collections::BTreeSet;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::auth::principal::ACCESS_COOKIE;
use crate::error::Error;
use crate::http::access::{Access, RouteSpec};
use crate::http::envelope::ErrorBody;
use describe::{DocOutput, Note, OperationDoc, RequestBody, Success};

/// The serialised document, shared by every request for it.
#[derive(Debug, Clone)]
pub struct OpenApiJson(Bytes);

impl OpenApiJson {
    pub fn build(specs: &[RouteSpec]) -> Self {
        OpenApiJson(Bytes::from(document(specs).to_string()))
    }
}

impl IntoResponse for OpenApiJson {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

impl DocOutput for OpenApiJson {
    fn describe(op: &mut OperationDoc, _: &mut SchemaGenerator) {
        op.success = Some(Success {
            description: "This OpenAPI 3.1 document.",
            media_type: "application/json",
            schema: schemars::json_schema!({ "type": "object" }),
        });
    }
}

const ERROR_SCHEMA: &str = "#/components/schemas/ErrorBody";

/// The OpenAPI document for these routes.
pub fn document(specs: &[RouteSpec]) -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas/".into();
    settings.meta_schema = None;
    let mut schemas = settings.into_generator();
    schemas.subschema_for::<ErrorBody>();

    let mut paths = Map::new();
    let mut tags: Vec<String> = Vec::new();
    let mut operation_ids = BTreeSet::new();
    for spec in specs {
        let doc = (spec.doc.describe)(&mut schemas);
        let (tag, name) = handler_name(spec);
        if !tags.contains(&tag) {
            tags.push(tag.clone());
        }
        let mut id = format!("{tag}_{name}");
        while !operation_ids.insert(id.clone()) {
            id.push('_');
        }
        let operation = operation(spec, doc, &tag, &name, id);
        let item = paths.entry(spec.path.clone()).or_insert_with(|| json!({}));
        item[spec.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Ctrl-Alt-Play Panel API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every JSON answer is an envelope: `{success: true, data, message?, \
                timestamp, requestId}` or `{success: false, error, code, details?, timestamp, \
                requestId}`. Log in with `POST /api/auth/login` (session cookies) or send an \
                API key as `Authorization: Bearer`. Cookie-authenticated writes must come from \
                the panel's own origin.",
        },
        "servers": [{ "url": "/" }],
        "tags": tags.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas.take_definitions(true),
            "responses": error_responses()
                .into_iter()
                .map(|e| (e.name.to_owned(), e.value))
                .collect::<Map<_, _>>(),
            "securitySchemes": {
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": ACCESS_COOKIE,
                    "description": "The session set by login and refresh.",
                },
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from `POST /api/auth/api-keys`.",
                },
            },
        },
    })
}

/// The route module (the tag) and the handler's name, e.g. `servers` and `list`.
fn handler_name(spec: &RouteSpec) -> (String, String) {
    let identifier =
        |s: &&str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut segments = spec.doc.handler.rsplit("::");
    let name = segments.next().filter(identifier);
    let module = segments.next().filter(identifier);
    match (module, name) {
        (Some(module), Some(name)) => (module.to_owned(), name.to_owned()),
        _ => {
            let slug: String = spec
                .path
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            (
                "api".to_owned(),
                format!("{}{slug}", spec.method).to_lowercase(),
            )
        }
    }
}

fn operation(spec: &RouteSpec, doc: OperationDoc, tag: &str, name: &str, id: String) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), id.into());
    op.insert("tags".into(), json!([tag]));
    op.insert("summary".into(), summary(name).into());
    op.insert("description".into(), access_text(spec.access).into());
    if let Access::Permission(key) | Access::Server(key) = spec.access {
        op.insert("x-permission".into(), key.into());
    }

    let mut parameters: Vec<Value> = path_params(&spec.path)
        .map(|name| {
            json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
        })
        .collect();
    for param in &doc.query {
        let mut value = json!({
            "name": param.name,
            "in": "query",
            "required": param.required,
            "schema": param.schema,
        });
        if let Some(description) = param.schema.get("description") {
            value["description"] = description.clone();
        }
        parameters.push(value);
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), parameters.into());
    }
    if let Some(body) = &doc.body {
        op.insert("requestBody".into(), request_body(body));
    }
    op.insert("responses".into(), responses(spec, &doc));
    if spec.access != Access::Public {
        op.insert(
            "security".into(),
            json!([{ "cookieAuth": [] }, { "bearerAuth": [] }]),
        );
    }
    Value::Object(op)
}

fn summary(handler: &str) -> String {
    let words = handler.replace('_', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn access_text(access: Access) -> String {
    match access {
        Access::Public => "Public: no authentication.".to_owned(),
        Access::Authenticated => "Any logged-in user.".to_owned(),
        Access::Permission(key) => format!("Requires the permission `{key}`."),
        Access::Server(key) => format!(
            "Requires `{key}` on the server `{{id}}`: administrators and the owner through \
             their own permissions, subusers through their grant. Anyone else gets 404, as if \
             the server did not exist."
        ),
    }
}

/// The `{name}` segments of a path template.
pub fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

fn request_body(body: &RequestBody) -> Value {
    let (media_type, schema) = match body {
        RequestBody::Json(schema) => ("application/json", json!(schema)),
        RequestBody::Text => ("text/plain", json!({ "type": "string" })),
        RequestBody::Multipart => (
            "multipart/form-data",
            json!({
                "type": "object",
                "description": "One or more file fields; each is stored under its file name.",
                "additionalProperties": {
                    "type": "string",
                    "contentMediaType": "application/octet-stream",
                },
            }),
        ),
    };
    json!({ "required": true, "content": { media_type: { "schema": schema } } })
}

fn responses(spec: &RouteSpec, doc: &OperationDoc) -> Value {
    let mut responses = Map::new();
    let mut status = 200;
    let mut success = doc.success.as_ref().map(|s| {
        json!({
            "description": s.description,
            "content": { s.media_type: { "schema": s.schema } },
        })
    });
    let mut reaches_agent = doc.server_scoped;
    for note in &spec.doc.notes {
        match *note {
            Note::Status(code) => status = code,
            Note::Text(description) => {
                success = Some(raw(description, "text/plain", json!({ "type": "string" })))
            }
            Note::File(description) => {
                success = Some(raw(
                    description,
                    "application/octet-stream",
                    json!({ "type": "string", "contentMediaType": "application/octet-stream" }),
                ));
            }
            Note::Document(description) => {
                success = Some(raw(
                    description,
                    "application/json",
                    json!({ "type": "object" }),
                ));
            }
            Note::AlsoStatus(code, description) => {
                if let Some(mut same) = success.clone() {
                    same["description"] = description.into();
                    responses.insert(code.to_string(), same);
                }
            }
            Note::ReachesAgent => reaches_agent = true,
        }
    }
    if doc.websocket {
        responses.insert(
            "101".into(),
            json!({
                "description": "Switching Protocols: the console WebSocket. The panel sends JSON \
                    frames `{type: \"history\"|\"console\", lines}`, `{type: \"state\", state, \
                    message?}`, `{type: \"stats\", ...}` with the fields of `ServerStats`, and `{type: \"error\", message}`; the client sends \
                    `{type: \"command\", command}` (needs `console:command`).",
            }),
        );
    } else if let Some(mut success) = success {
        if doc.sets_cookies {
            success["headers"] = json!({
                "Set-Cookie": {
                    "description": "The session: `cap_access` (path /) and `cap_refresh` (path /api/auth), httpOnly, SameSite=Strict.",
                    "schema": { "type": "string" },
                },
            });
        }
        responses.insert(status.to_string(), success);
    }

    let public = spec.access == Access::Public;
    let write = !matches!(spec.method.as_str(), "GET" | "HEAD" | "OPTIONS");
    let json_input = matches!(
        doc.body,
        Some(RequestBody::Json(_) | RequestBody::Multipart)
    ) || !doc.query.is_empty();
    let applies = |error: &ErrorResponse| match error.name {
        "BadRequest" => doc.body.is_some() || !doc.query.is_empty(),
        "Unauthorized" => !public || doc.identifies_client,
        "Forbidden" => !public || write,
        "NotFound" => path_params(&spec.path).next().is_some(),
        "Conflict" => !public && write,
        "PayloadTooLarge" => doc.body.is_some(),
        "Validation" => json_input,
        "AgentUnavailable" => reaches_agent,
        _ => true,
    };
    for error in error_responses().iter().filter(|e| applies(e)) {
        responses.insert(
            error.status.clone(),
            json!({ "$ref": format!("#/components/responses/{}", error.name) }),
        );
    }
    Value::Object(responses)
}

fn raw(description: &str, media_type: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { media_type: { "schema": schema } } })
}

/// One error answer, shared by the operations it applies to.
struct ErrorResponse {
    name: &'static str,
    code: &'static str,
    /// The status, or `default` for anything unexpected.
    status: String,
    value: Value,
}

/// The error answers, their status and code from [`Error::status_and_code`].
fn error_responses() -> Vec<ErrorResponse> {
    [
        ("BadRequest", Error::BadRequest(String::new()), "Malformed JSON or query string, or a JSON route called without `Content-Type: application/json`."),
        ("Unauthorized", Error::Unauthorized(String::new()), "Not logged in, wrong credentials, or a session or API key that is no longer valid."),
        ("Forbidden", Error::Forbidden(String::new()), "A permission is missing, or a cookie-authenticated write came from another site."),
        ("NotFound", Error::NotFound(String::new()), "No such resource."),
        ("Conflict", Error::Conflict(String::new()), "Conflicts with existing data: a duplicate name, or a record still in use."),
        ("PayloadTooLarge", Error::PayloadTooLarge(String::new()), "The body is over the size limit."),
        ("Validation", Error::validation("", ""), "Fields missing, unknown, mistyped or breaking a rule; `details` names each field."),
        ("RateLimited", Error::RateLimited { retry_after_secs: 1 }, "Too many requests; `Retry-After` says when to try again."),
        ("AgentUnavailable", Error::AgentUnavailable(String::new()), "The node's agent cannot be reached."),
        ("Unexpected", Error::internal("unexpected"), "Unexpected failure (500) or a request that took too long (504)."),
    ]
    .into_iter()
    .map(|(name, error, description)| {
        let (status, code) = error.status_and_code();
        let status = if matches!(error, Error::Internal(_)) {
            "default".to_owned()
        } else {
            status.as_str().to_owned()
        };
        let mut value = json!({
            "description": description,
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [
                            { "$ref": ERROR_SCHEMA },
                            { "properties": { "code": { "const": code } } },
                        ],
                    },
                },
            },
        });
        if let Error::RateLimited { .. } = error {
            value["headers"] = json!({
                "Retry-After": { "description": "Seconds to wait.", "schema": { "type": "integer" } },
            });
        }
        ErrorResponse {
            name,
            code,
            status,
            value,
        }
    })
    .collect()
}

/// Every error code the API answers with, for the error envelope's schema.
pub fn error_codes(_: &mut SchemaGenerator) -> Schema {
    let codes: BTreeSet<&str> = error_responses().iter().map(|e| e.code).collect();
    schemars::json_schema!({ "type": "string", "enum": codes })
}
