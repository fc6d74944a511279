//! What a handler's signature says about its operation. Every extractor the API uses
//! tells what it reads from the request ([`DocInput`]) and every response type what it
//! answers ([`DocOutput`]); the route registry picks both up through [`Documented`], so a
//! route's documented body, query and success response follow from the handler itself.

use std::future::Future;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Extension, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use crate::auth::principal::Principal;
use crate::auth::{Actor, Client};
use crate::error::Error;
use crate::http::envelope::Envelope;
use crate::http::extract::{ValidJson, ValidQuery};

/// A request body as the handler reads it.
#[derive(Debug)]
pub enum RequestBody {
    /// `application/json`, checked against this schema.
    Json(Schema),
    /// `text/plain`, taken as it is.
    Text,
    /// `multipart/form-data` with file fields.
    Multipart,
}

/// One `?name=` parameter.
#[derive(Debug)]
pub struct QueryParam {
    pub name: String,
    pub required: bool,
    pub schema: Schema,
}

/// The successful answer the handler's return type describes.
#[derive(Debug)]
pub struct Success {
    pub description: &'static str,
    pub media_type: &'static str,
    pub schema: Schema,
}

/// Everything the handler's types tell about one operation.
#[derive(Debug, Default)]
pub struct OperationDoc {
    pub body: Option<RequestBody>,
    pub query: Vec<QueryParam>,
    /// `None` when the return type does not say (a plain `Response`): a [`Note`] must.
    pub success: Option<Success>,
    /// The answer sets the session cookies.
    pub sets_cookies: bool,
    /// The route upgrades to a WebSocket.
    pub websocket: bool,
    /// The route acts on the server named by `{id}`.
    pub server_scoped: bool,
    /// The handler identifies its client (rate limits on credentials, audit).
    pub identifies_client: bool,
}

/// What a route's handler types cannot tell, added at registration with
/// [`ApiRoutes::note`](crate::http::access::ApiRoutes::note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// Success answers with this status (e.g. 201) instead of 200.
    Status(u16),
    /// Also answers this status with the success envelope (e.g. 503 when unhealthy).
    AlsoStatus(u16, &'static str),
    /// The success body is `text/plain`.
    Text(&'static str),
    /// The success body is a file download (`application/octet-stream`).
    File(&'static str),
    /// The success body is a JSON document of its own, not an envelope.
    Document(&'static str),
    /// The handler calls the agent on a node: 503 AGENT_UNAVAILABLE when it is offline.
    ReachesAgent,
}

/// A request part a handler extracts.
pub trait DocInput {
    fn describe(_op: &mut OperationDoc, _schemas: &mut SchemaGenerator) {}
}

/// A handler's return type.
pub trait DocOutput {
    fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator);
}

/// All of a handler's extractors.
pub trait DocInputs {
    fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator);
}

/// A handler taking `I` (a tuple of extractors) and answering `O`.
pub trait Documented<I, O> {}

/// The operation a handler with these inputs and output describes.
pub fn describe<I: DocInputs, O: DocOutput>(schemas: &mut SchemaGenerator) -> OperationDoc {
    let mut op = OperationDoc::default();
    I::describe(&mut op, schemas);
    O::describe(&mut op, schemas);
    op
}

macro_rules! handler_arity {
    ($($arg:ident),*) => {
        impl<F, Fut, O, $($arg,)*> Documented<($($arg,)*), O> for F
        where
            F: FnOnce($($arg),*) -> Fut,
            Fut: Future<Output = O>,
        {
        }

        impl<$($arg: DocInput,)*> DocInputs for ($($arg,)*) {
            #[allow(unused_variables)]
            fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator) {
                $($arg::describe(op, schemas);)*
            }
        }
    };
}

handler_arity!();
handler_arity!(A1);
handler_arity!(A1, A2);
handler_arity!(A1, A2, A3);
handler_arity!(A1, A2, A3, A4);
handler_arity!(A1, A2, A3, A4, A5);
handler_arity!(A1, A2, A3, A4, A5, A6);
handler_arity!(A1, A2, A3, A4, A5, A6, A7);
handler_arity!(A1, A2, A3, A4, A5, A6, A7, A8);

// Extractors that read nothing a client sends beyond the path and credentials.
impl<S> DocInput for State<S> {}
/// Path parameters are declared from the route's path template.
impl<T> DocInput for Path<T> {}
impl<T> DocInput for Extension<T> {}
impl DocInput for HeaderMap {}
impl DocInput for CookieJar {}
impl DocInput for Principal {}

impl DocInput for Client {
    fn describe(op: &mut OperationDoc, _: &mut SchemaGenerator) {
        op.identifies_client = true;
    }
}

/// An actor is a principal with its client.
impl DocInput for Actor {
    fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator) {
        Client::describe(op, schemas);
    }
}

impl DocInput for WebSocketUpgrade {
    fn describe(op: &mut OperationDoc, _: &mut SchemaGenerator) {
        op.websocket = true;
    }
}

impl DocInput for Multipart {
    fn describe(op: &mut OperationDoc, _: &mut SchemaGenerator) {
        op.body = Some(RequestBody::Multipart);
    }
}

impl DocInput for String {
    fn describe(op: &mut OperationDoc, _: &mut SchemaGenerator) {
        op.body = Some(RequestBody::Text);
    }
}

impl<T: JsonSchema> DocInput for ValidJson<T> {
    fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator) {
        op.body = Some(RequestBody::Json(schemas.subschema_for::<T>()));
    }
}

impl<T: JsonSchema> DocInput for ValidQuery<T> {
    fn describe(op: &mut OperationDoc, _: &mut SchemaGenerator) {
        op.query.extend(query_params::<T>());
    }
}

/// The properties of a query struct as parameters (query values are never `null`).
fn query_params<T: JsonSchema>() -> Vec<QueryParam> {
    let schema = SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut property = property.clone();
            if let Some(map) = property.as_object_mut() {
                map.retain(|key, value| !(key == "default" && value.is_null()));
            }
            if let Some(Value::Array(types)) = property.get_mut("type") {
                types.retain(|t| t != "null");
                if let [single] = types.as_slice() {
                    let single = single.clone();
                    property["type"] = single;
                }
            }
            QueryParam {
                name: name.clone(),
                required: required.contains(&name.as_str()),
                schema: Schema::try_from(property).unwrap_or_default(),
            }
        })
        .collect()
}

impl<T: JsonSchema> DocOutput for Envelope<T> {
    fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator) {
        op.success = Some(Success {
            description: "Success: the envelope with the result in `data`.",
            media_type: "application/json",
            schema: schemas.subschema_for::<Envelope<T>>(),
        });
    }
}

/// The errors follow from the route's access rule and inputs.
impl<T: DocOutput> DocOutput for Result<T, Error> {
    fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator) {
        T::describe(op, schemas);
    }
}

impl<T: DocOutput> DocOutput for (CookieJar, T) {
    fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator) {
        T::describe(op, schemas);
        op.sets_cookies = true;
    }
}

/// The status is chosen at run time; [`Note::Status`] documents a fixed one.
impl<T: DocOutput> DocOutput for (StatusCode, T) {
    fn describe(op: &mut OperationDoc, schemas: &mut SchemaGenerator) {
        T::describe(op, schemas);
    }
}

/// A hand-built response: the route's [`Note`] says what it holds.
impl DocOutput for Response {
    fn describe(_: &mut OperationDoc, _: &mut SchemaGenerator) {}
}
