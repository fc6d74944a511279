//! Template categories and templates over HTTP: built-ins, CRUD, egg import/export.

use serde_json::{json, Value};

use crate::support::{test_game, TestApp};

/// The community egg fixtures: `$CAP_EGGS_DIR`, else beside the repository.
pub fn eggs_dir() -> std::path::PathBuf {
    std::env::var_os("CAP_EGGS_DIR")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eggs")
        })
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test]
async fn built_in_templates_are_seeded_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let (status, body) = json_of(
        admin
            .get(app.url("/api/alts?perPage=100"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Test Game"), "{names:?}");
    assert!(names.iter().any(|n| n.contains("Luanti")), "{names:?}");
    let test_game = body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Test Game")
        .unwrap();
    assert_eq!(test_game["variables"][0]["envVariable"], "STARTUP_DELAY_MS");

    // Deleting a built-in is respected: seeding again (a restart) does not bring it back.
    let id = test_game["id"].as_str().unwrap();
    let deleted = admin
        .delete(app.url(&format!("/api/alts/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    cap_panel::services::templates::seed_builtins(&app.db)
        .await
        .unwrap();
    let (_, body) = json_of(
        admin
            .get(app.url("/api/alts?name=test%20game"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["data"]["total"], 0);
}

#[tokio::test]
async fn ctrl_crud_and_conflicts() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let (status, created) = json_of(
        admin
            .post(app.url("/api/ctrls"))
            .json(&json!({ "name": "Minecraft", "description": "Java and Bedrock" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let (status, dup) = json_of(
        admin
            .post(app.url("/api/ctrls"))
            .json(&json!({ "name": "Minecraft" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, dup["code"].as_str()), (409, Some("CONFLICT")));
    assert_eq!(
        dup["error"],
        "a category named \"Minecraft\" already exists"
    );
    let (status, bad) = json_of(
        admin
            .post(app.url("/api/ctrls"))
            .json(&json!({ "name": "" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(bad["details"]["name"].is_array(), "{bad}");
    let (status, patched) = json_of(
        admin
            .patch(app.url(&format!("/api/ctrls/{id}")))
            .json(&json!({ "name": "Minecraft Java" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(patched["data"]["name"], "Minecraft Java");
    let (_, list) = json_of(
        admin
            .get(app.url("/api/ctrls?name=java"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["data"]["total"], 1);
    let (status, _) = json_of(
        admin
            .delete(app.url(&format!("/api/ctrls/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = json_of(
        admin
            .get(app.url(&format!("/api/ctrls/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_template_in_use_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let w = crate::support::world(&app.db, "inuse").await;
    let (status, body) = json_of(
        admin
            .delete(app.url(&format!("/api/alts/{}", w.alt.id)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = json_of(
        admin
            .delete(app.url(&format!("/api/ctrls/{}", w.ctrl.id)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn eggs_import_as_json_or_yaml_and_export_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let (_, ctrl) = json_of(
        admin
            .post(app.url("/api/ctrls"))
            .json(&json!({ "name": "Imported" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ctrl_id = ctrl["data"]["id"].as_str().unwrap().to_owned();

    let text = std::fs::read_to_string(eggs_dir().join("minecraft_java_paper_egg-paper.json"))
        .expect("the shared egg fixtures are beside the repository");
    let egg: Value = serde_json::from_str(&text).unwrap();
    // Sent as a JSON document.
    let body = format!("{{\"ctrlId\": \"{ctrl_id}\", \"egg\": {text}}}");
    let (status, imported) = json_of(
        admin
            .post(app.url("/api/alts/import"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    let alt = &imported["data"]["alt"];
    assert_eq!(alt["name"], egg["name"]);
    assert_eq!(
        alt["variables"].as_array().unwrap().len(),
        egg["variables"].as_array().unwrap().len()
    );

    let export = admin
        .get(app.url(&format!("/api/alts/{}/export", alt["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(export.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let exported: Value = export.json().await.unwrap();
    assert_eq!(exported["meta"]["version"], "PTDL_v2");
    assert_eq!(exported["startup"], egg["startup"]);
    assert_eq!(exported["docker_images"], egg["docker_images"]);
    // Saved on Windows: the script comes back with Unix line endings.
    let script = egg["scripts"]["installation"]["script"].as_str().unwrap();
    assert!(script.contains("\r\n"), "the fixture has CRLF line endings");
    assert_eq!(
        exported["scripts"]["installation"]["script"],
        script.replace("\r\n", "\n")
    );
    let warnings = imported["data"]["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .starts_with("scripts.installation.container: the install script runs in the container ghcr.io/parkervcp/installers:alpine")),
        "{warnings:?}"
    );

    // Sent as YAML text (Pelican's format): a string value.
    let yaml = "meta:\n  version: PLCN_v1\nname: Tiny\nauthor: a@b.c\nstartup: ./run --port {{SERVER_PORT}}\n\
config:\n  stop: ^C\n  startup:\n    done: ready\nvariables:\n  - name: Level\n    env_variable: LEVEL\n    \
default_value: world\n    user_viewable: true\n    user_editable: true\n    rules: required|string|max:20\n";
    let (status, imported) = json_of(
        admin
            .post(app.url("/api/alts/import"))
            .json(&json!({ "ctrlId": ctrl_id, "egg": yaml }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported["data"]["alt"]["stopCommand"], "^C");
    assert_eq!(imported["data"]["alt"]["donePatterns"], json!(["ready"]));
}

#[tokio::test]
async fn malformed_eggs_are_refused_naming_the_field_and_nothing_is_left() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let (_, ctrl) = json_of(
        admin
            .post(app.url("/api/ctrls"))
            .json(&json!({ "name": "Broken" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ctrl_id = ctrl["data"]["id"].as_str().unwrap().to_owned();
    let egg = json!({
        "meta": { "version": "PTDL_v2" },
        "name": "Broken",
        "startup": "run",
        "config": { "files": "{not json", "startup": "{}", "logs": "{}", "stop": "stop" },
        "variables": []
    });
    let (status, body) = json_of(
        admin
            .post(app.url("/api/alts/import"))
            .json(&json!({ "ctrlId": ctrl_id, "egg": egg }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("config.files"),
        "{body}"
    );
    let (_, list) = json_of(
        admin
            .get(app.url(&format!("/api/alts?ctrlId={ctrl_id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["data"]["total"], 0);

    let (status, _) = json_of(
        admin
            .post(app.url("/api/alts/import"))
            .json(&json!({ "ctrlId": "no-such-ctrl", "egg": { "meta": { "version": "PTDL_v2" } } }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn templates_can_be_created_and_replaced_keeping_variable_ids() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let (_, ctrl) = json_of(
        admin
            .post(app.url("/api/ctrls"))
            .json(&json!({ "name": "Mine" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ctrl_id = ctrl["data"]["id"].as_str().unwrap();
    let template = test_game("Custom Game");
    let (status, created) = json_of(
        admin
            .post(app.url("/api/alts"))
            .json(&json!({ "ctrlId": ctrl_id, "template": template }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_str().unwrap();
    let variable_id = created["data"]["variables"][0]["id"].clone();
    let mut changed = template.clone();
    changed.description = Some("now with a description".into());
    let (status, replaced) = json_of(
        admin
            .put(app.url(&format!("/api/alts/{id}")))
            .json(&json!({ "template": changed }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["data"]["description"], "now with a description");
    assert_eq!(replaced["data"]["variables"][0]["id"], variable_id);
}

/// GETs `url`; the status and the envelope.
async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    json_of(client.get(url).send().await.unwrap()).await
}

/// POSTs `body` as JSON; the status and the envelope.
async fn post(client: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    json_of(client.post(url).json(&body).send().await.unwrap()).await
}

#[tokio::test]
async fn an_egg_imported_again_is_refused_in_plain_words_and_can_update_the_template_keeping_its_servers(
) {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let w = crate::support::world(&app.db, "update").await;
    let alt_path = format!("/api/alts/{}", w.alt.id);
    let (_, before) = get(&admin, &app.url(&alt_path)).await;
    let delay = before["data"]["variables"][0].clone();
    assert_eq!(delay["envVariable"], "STARTUP_DELAY_MS");
    let delay_id = delay["id"].as_str().unwrap().to_owned();
    cap_panel::repo::server_variables::upsert(&app.db, &w.server.id, &delay_id, "250")
        .await
        .unwrap();

    let export = admin
        .get(app.url(&format!("{alt_path}/export")))
        .send()
        .await
        .unwrap();
    let mut egg: Value = export.json().await.unwrap();
    let (status, body) = post(
        &admin,
        &app.url("/api/alts/import"),
        json!({ "ctrlId": w.ctrl.id, "egg": egg }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("CONFLICT")),
        "{body}"
    );
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("this category already has a template named \"alt-update\"")
            && message.contains("update that template from the egg"),
        "{message}"
    );
    assert!(
        !message.contains("alts.") && !message.contains("ctrl_id"),
        "{message}"
    );

    let update_url = app.url(&format!("{alt_path}/import"));
    let update_from = |egg: &Value| post(&admin, &update_url, json!({ "egg": egg }));

    // A newer egg: another description and default, one more variable, one repeated.
    egg["name"] = json!("Test Game v2");
    egg["description"] = json!("a newer egg");
    egg["variables"][0]["default_value"] = json!("1000");
    let mut extra = egg["variables"][0].clone();
    extra["name"] = json!("Greeting");
    extra["env_variable"] = json!("GREETING");
    extra["default_value"] = json!("hello");
    extra["rules"] = json!("required|string|max:20");
    let mut repeated = egg["variables"][0].clone();
    repeated["name"] = json!("Delay again");
    egg["variables"]
        .as_array_mut()
        .unwrap()
        .extend([extra, repeated]);
    let (status, body) = update_from(&egg).await;
    assert_eq!(status, 200, "{body}");
    let updated = &body["data"]["alt"];
    assert_eq!(updated["id"], w.alt.id.as_str(), "the same template");
    assert_eq!(updated["name"], "alt-update", "keeps its name");
    assert_eq!(updated["description"], "a newer egg");
    let variables = updated["variables"].as_array().unwrap();
    assert_eq!(variables.len(), 2, "{variables:?}");
    assert_eq!(variables[0]["id"], delay_id.as_str(), "matched by env name");
    assert_eq!(variables[0]["defaultValue"], "1000");
    assert_eq!(variables[1]["envVariable"], "GREETING");
    let warnings = body["data"]["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("only the first is kept")),
        "{warnings:?}"
    );
    let values = cap_panel::repo::server_variables::for_server(&app.db, &w.server.id)
        .await
        .unwrap();
    assert_eq!(values.len(), 1);
    assert_eq!(
        (values[0].variable_id.as_str(), values[0].value.as_str()),
        (delay_id.as_str(), "250"),
        "the server keeps its value"
    );
    let (_, audit) = get(&admin, &app.url("/api/audit?action=alt.updated_from_egg")).await;
    assert_eq!(audit["data"]["total"], 1, "{audit}");

    // Dropping a variable says so; a template that does not exist is 404.
    egg["variables"].as_array_mut().unwrap().truncate(1);
    let (status, body) = update_from(&egg).await;
    assert_eq!(status, 200, "{body}");
    let warnings = body["data"]["warnings"].to_string();
    assert!(
        warnings.contains("Greeting (GREETING) is not in the egg"),
        "{warnings}"
    );
    let (status, _) = post(
        &admin,
        &app.url("/api/alts/nope/import"),
        json!({ "egg": egg }),
    )
    .await;
    assert_eq!(status, 404);
}
