//! `GET /api/openapi.json`: the document matches the route registry, declares every
//! parameter, body and credential, and a generic client driven by it gets envelope 4xx
//! answers (never 5xx) for bodies and queries that break its schemas.

use cap_panel::http::access::Access;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::support::{world, TestApp};

async fn fetch_document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "public, no credentials");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    response.json().await.unwrap()
}

fn operation<'a>(doc: &'a Value, path: &str, method: &str) -> Option<&'a Value> {
    doc["paths"].get(path)?.get(method.to_ascii_lowercase())
}

/// Follows `{"$ref": "#/components/..."}` to its target.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let path = reference
                .strip_prefix("#/")
                .unwrap_or_else(|| panic!("reference {reference} is not local"));
            resolve(doc, path.split('/').fold(doc, |node, key| &node[key]))
        }
        None => value,
    }
}

fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                found.push(reference.clone());
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[tokio::test]
async fn the_document_matches_the_route_registry() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["cookieAuth"]["in"], "cookie");
    assert_eq!(schemes["cookieAuth"]["name"], "cap_access");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");

    let specs = cap_panel::http::route_specs(app.state.clone());
    let mut ids = std::collections::BTreeSet::new();
    for spec in &specs {
        let name = format!("{} {}", spec.method, spec.path);
        let op = operation(&doc, &spec.path, spec.method.as_str())
            .unwrap_or_else(|| panic!("{name} is missing from the document"));
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_owned()),
            "{name}: duplicate operationId"
        );
        assert_eq!(op["tags"].as_array().unwrap().len(), 1, "{name}: one tag");

        // Path parameters: exactly the template's, required, in: path.
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .map(|params| {
                params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .inspect(|p| assert_eq!(p["required"], true, "{name}"))
                    .map(|p| p["name"].as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        let template: Vec<&str> = spec
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(declared, template, "{name}: path parameters");

        // Credentials: none exactly on public routes.
        let public = spec.access == Access::Public;
        assert_eq!(op.get("security").is_none(), public, "{name}: security");
        if let Access::Permission(key) | Access::Server(key) = spec.access {
            assert_eq!(op["x-permission"], key, "{name}");
        }

        // A success answer and the error envelope on every route.
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with('2') || status == "101"),
            "{name}: no success response"
        );
        // Public routes that check credentials of their own can refuse them.
        let own_credentials = [
            "/api/auth/login",
            "/api/auth/login/two-factor",
            "/api/auth/refresh",
            "/api/agents/join",
        ];
        assert_eq!(
            responses.contains_key("401"),
            !public || own_credentials.contains(&spec.path.as_str()),
            "{name}: 401"
        );
        assert!(responses.contains_key("429") && responses.contains_key("default"));
    }

    // ...and nothing the registry does not have.
    let mut documented = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
            assert!(
                specs
                    .iter()
                    .any(|s| s.path == *path && s.method.as_str().eq_ignore_ascii_case(method)),
                "{method} {path} is documented but not routed"
            );
            documented += 1;
        }
    }
    assert_eq!(documented, specs.len());
    assert!(operation(&doc, "/api/openapi.json", "GET").is_some());

    // Every reference resolves.
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for reference in found {
        let target = reference
            .strip_prefix("#/")
            .unwrap_or_else(|| panic!("{reference} is not local"))
            .split('/')
            .fold(&doc, |node, key| &node[key]);
        assert!(target.is_object(), "{reference} does not resolve");
    }
}

/// Writes that take no body; anything else must document one.
const BODYLESS_WRITES: &[&str] = &[
    "POST /api/auth/refresh",
    "POST /api/auth/logout",
    "POST /api/auth/two-factor/setup",
    "POST /api/servers/{id}/reinstall",
    "POST /api/servers/{id}/schedules/{schedule_id}/run",
    "POST /api/servers/{id}/allocations/{allocation_id}/primary",
    "POST /api/servers/{id}/databases/{database_id}/reveal",
    "POST /api/servers/{id}/databases/{database_id}/rotate",
    "POST /api/database-orphans/{database_id}/retry",
    "DELETE",
];

#[tokio::test]
async fn every_write_documents_its_body() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    for spec in cap_panel::http::route_specs(app.state.clone()) {
        let name = format!("{} {}", spec.method, spec.path);
        let op = operation(&doc, &spec.path, spec.method.as_str()).unwrap();
        let write = matches!(spec.method, Method::POST | Method::PUT | Method::PATCH);
        let bodyless = BODYLESS_WRITES.contains(&name.as_str())
            || BODYLESS_WRITES.contains(&spec.method.as_str());
        match op.get("requestBody") {
            Some(body) => {
                assert!(write, "{name}: a body on a read");
                let content = body["content"].as_object().unwrap();
                assert_eq!(content.len(), 1, "{name}");
                let (media_type, entry) = content.iter().next().unwrap();
                assert!(
                    entry["schema"].is_object(),
                    "{name}: {media_type} without a schema"
                );
            }
            None => assert!(!write || bodyless, "{name}: no request body documented"),
        }
    }
}

#[tokio::test]
async fn schemas_carry_serde_and_garde_rules() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    let body = |path: &str, method: &str| -> Value {
        let schema = &operation(&doc, path, method).unwrap()["requestBody"]["content"]
            ["application/json"]["schema"];
        resolve(&doc, schema).clone()
    };

    let node = body("/api/agents", "POST");
    assert_eq!(node["additionalProperties"], false, "deny_unknown_fields");
    let required: Vec<&str> = node["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        required.contains(&"portRangeStart"),
        "camelCase: {required:?}"
    );
    assert!(!required.contains(&"token"), "Option is not required");
    assert!(
        !required.contains(&"port"),
        "serde(default) is not required"
    );
    let props = &node["properties"];
    assert_eq!(props["name"]["minLength"], 1);
    assert_eq!(props["name"]["maxLength"], 191);
    assert_eq!(props["memoryMb"]["maximum"], 1_073_741_824);
    assert_eq!(props["port"]["minimum"], 1);
    assert!(props["address"]["pattern"].is_string());

    let login = body("/api/auth/login", "POST");
    assert_eq!(login["properties"]["login"]["maxLength"], 191);
    let power = body("/api/servers/{id}/power", "POST");
    let action = resolve(&doc, &power["properties"]["action"]);
    let actions: Vec<&Value> = action["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variant| &variant["const"])
        .collect();
    assert_eq!(actions, ["start", "stop", "restart", "status", "kill"]);

    // Lists take the page query; success answers are envelopes around `data`.
    let list = operation(&doc, "/api/servers", "GET").unwrap();
    let names: Vec<&str> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["name", "page", "perPage"]);
    let envelope = &list["responses"]["200"]["content"]["application/json"]["schema"];
    let required = envelope["required"].as_array().unwrap();
    for field in ["success", "data", "timestamp", "requestId"] {
        assert!(required.contains(&json!(field)), "{field}");
    }
    let page = resolve(&doc, &envelope["properties"]["data"]);
    assert!(page["properties"]["items"]["items"]["$ref"]
        .as_str()
        .unwrap()
        .ends_with("/ServerView"));

    // Errors: the error envelope with its codes.
    let error = &doc["components"]["schemas"]["ErrorBody"];
    let codes = error["properties"]["code"]["enum"].as_array().unwrap();
    for code in [
        "VALIDATION_ERROR",
        "UNAUTHORIZED",
        "FORBIDDEN",
        "NOT_FOUND",
        "RATE_LIMITED",
    ] {
        assert!(codes.contains(&json!(code)), "{code}");
    }

    // Non-JSON routes say what they are.
    let media = |path: &str, method: &str, status: &str| -> Vec<String> {
        operation(&doc, path, method).unwrap()["responses"][status]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(
        media("/api/servers/{id}/files/contents", "GET", "200"),
        ["text/plain"]
    );
    assert_eq!(
        media("/api/servers/{id}/files/download", "GET", "200"),
        ["application/octet-stream"]
    );
    assert!(
        operation(&doc, "/api/servers/{id}/console", "GET").unwrap()["responses"]
            .get("101")
            .is_some()
    );
    assert_eq!(media("/api/users", "POST", "201"), ["application/json"]);
    let upload = operation(&doc, "/api/servers/{id}/files/upload", "POST").unwrap();
    assert!(upload["requestBody"]["content"]
        .get("multipart/form-data")
        .is_some());
    let write = operation(&doc, "/api/servers/{id}/files/contents", "PUT").unwrap();
    assert!(write["requestBody"]["content"].get("text/plain").is_some());
}

/// A value of another type than the schema allows, when there is one.
fn wrong_value(doc: &Value, schema: &Value) -> Option<Value> {
    let schema = resolve(doc, schema);
    if schema.get("anyOf").is_some() || schema.get("oneOf").is_some() {
        return Some(json!(["not", "this"]));
    }
    if schema.get("enum").is_some() {
        return Some(json!("not-a-listed-value"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    Some(if types.contains(&"string") {
        json!(12345)
    } else if types.contains(&"integer") || types.contains(&"number") {
        json!("not a number")
    } else if types.contains(&"boolean") {
        json!("yes")
    } else if types.contains(&"array") {
        json!({ "not": "a list" })
    } else {
        json!([1, 2, 3])
    })
}

/// Bodies that break the schema: empty when fields are required, each field mistyped,
/// an unknown field when none are allowed, and not an object at all.
fn broken_bodies(doc: &Value, schema: &Value) -> Vec<(String, Value)> {
    let schema = resolve(doc, schema);
    let mut bodies = vec![
        ("a list".to_owned(), json!([])),
        ("a string".to_owned(), json!("text")),
    ];
    if schema["required"].as_array().is_some_and(|r| !r.is_empty()) {
        bodies.push(("no fields".to_owned(), json!({})));
    }
    if schema["additionalProperties"] == false {
        bodies.push((
            "an unknown field".to_owned(),
            json!({ "unexpectedField": 1 }),
        ));
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        if let Some(wrong) = wrong_value(doc, property) {
            let mut body = Map::new();
            body.insert(name.clone(), wrong);
            bodies.push((format!("{name} mistyped"), Value::Object(body)));
        }
    }
    bodies
}

/// Sends a request that must fail: a 4xx error envelope with a known code, and a status
/// the operation documents.
async fn send_broken(
    request: reqwest::RequestBuilder,
    op: &Value,
    codes: &[Value],
    what: &str,
) -> u16 {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    assert!((400..500).contains(&status), "{what}: {status}");
    assert!(
        op["responses"].get(status.to_string()).is_some(),
        "{what}: {status} is not documented"
    );
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(body["success"], false, "{what}: {body}");
    assert!(codes.contains(&body["code"]), "{what}: {body}");
    assert!(body["requestId"].is_string() && body["timestamp"].is_string());
    status
}

#[tokio::test]
async fn broken_input_generated_from_the_schemas_gets_4xx_envelopes() {
    let app = TestApp::spawn().await;
    let doc = fetch_document(&app).await;
    let admin = app.admin_client().await;
    let w = world(&app.db, "fuzz").await;
    let other = app.create_user("fuzz-other").await;
    let codes = doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    let missing = uuid::Uuid::now_v7().to_string();

    let mut sent = 0;
    for spec in cap_panel::http::route_specs(app.state.clone()) {
        let op = operation(&doc, &spec.path, spec.method.as_str()).unwrap();
        let path = spec
            .path
            .replace("{id}", &w.server.id)
            .replace("{user_id}", &other.id)
            .replace("{node_id}", &w.node.id)
            .replace("{ctrl_id}", &w.ctrl.id)
            .replace("{alt_id}", &w.alt.id)
            .replace("{key_id}", &missing)
            .replace("{subuser_id}", &missing);
        let method = Method::from_bytes(spec.method.as_str().as_bytes()).unwrap();
        let request = || admin.request(method.clone(), app.url(&path));

        if let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") {
            let what = format!("{} {} without Content-Type", spec.method, spec.path);
            let status = send_broken(request().body("plain"), op, &codes, &what).await;
            assert_eq!(status, 400, "{what}");
            for (case, body) in broken_bodies(&doc, schema) {
                let what = format!("{} {} with {case}", spec.method, spec.path);
                send_broken(request().json(&body), op, &codes, &what).await;
                sent += 1;
            }
        }

        for param in op["parameters"].as_array().into_iter().flatten() {
            if param["in"] != "query" || param["schema"]["type"] != "integer" {
                continue;
            }
            let name = param["name"].as_str().unwrap();
            let what = format!("{} {} with {name} mistyped", spec.method, spec.path);
            send_broken(request().query(&[(name, "many")]), op, &codes, &what).await;
            sent += 1;
        }
    }
    assert!(sent > 100, "only {sent} broken requests");
}
