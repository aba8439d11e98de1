//! Checks `/api-doc.yaml` against the server: every documented operation
//! answers its example request with 200 and a body of the documented
//! shape, every documented error status can be produced, and the router
//! serves exactly the documented `/api` paths and methods.

mod api_common;

use std::collections::BTreeSet;

use api_common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

/// Methods probed on every documented path.
const METHODS: [&str; 5] = ["get", "post", "patch", "delete", "put"];

struct Operation {
    path: String,
    method: String,
    spec: Value,
}

impl Operation {
    fn id(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }

    fn parameters(&self, location: &str) -> Vec<&Value> {
        self.spec["parameters"]
            .as_array()
            .map(|parameters| {
                parameters
                    .iter()
                    .filter(|parameter| parameter["in"] == location)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn body_example(&self) -> Option<Value> {
        let example = &self.spec["requestBody"]["content"]["application/json"]["example"];
        (!example.is_null()).then(|| example.clone())
    }

    fn documented_statuses(&self) -> Vec<u16> {
        self.spec["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(|status| status.parse().unwrap())
            .collect()
    }
}

/// One request built from an operation's examples, changed per case.
#[derive(Clone, Debug)]
struct Request {
    method: Method,
    path_values: Map<String, Value>,
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl Request {
    fn from_examples(operation: &Operation) -> Request {
        let mut path_values = Map::new();
        for parameter in operation.parameters("path") {
            let name = parameter["name"].as_str().unwrap();
            let example = parameter["example"].clone();
            assert!(
                example.is_string(),
                "{}: path parameter {name} has no example",
                operation.id()
            );
            path_values.insert(name.to_string(), example);
        }
        let query = operation
            .parameters("query")
            .into_iter()
            .filter_map(|parameter| {
                let example = parameter["example"].as_str()?;
                Some((
                    parameter["name"].as_str().unwrap().to_string(),
                    example.to_string(),
                ))
            })
            .collect();
        Request {
            method: operation.method.to_uppercase().parse().unwrap(),
            path_values,
            query,
            body: operation.body_example(),
        }
    }

    fn url(&self, template: &str) -> String {
        let mut url = template.to_string();
        for (name, value) in &self.path_values {
            let encoded: String = percent_encoding::utf8_percent_encode(
                value.as_str().unwrap(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string();
            url = url.replace(&format!("{{{name}}}"), &encoded);
        }
        if !self.query.is_empty() {
            let pairs: Vec<String> = self
                .query
                .iter()
                .map(|(key, value)| {
                    format!(
                        "{key}={}",
                        percent_encoding::utf8_percent_encode(
                            value,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    )
                })
                .collect();
            url = format!("{url}?{}", pairs.join("&"));
        }
        url
    }

    fn send(&self, server: &TestServer, template: &str) -> (StatusCode, Value) {
        api_common::read(server.send(self.method.clone(), &self.url(template), self.body.as_ref()))
    }
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(spec) = item.get(method) {
                operations.push(Operation {
                    path: path.clone(),
                    method: method.to_string(),
                    spec: spec.clone(),
                });
            }
        }
    }
    operations
}

/// Checks `value` against a schema of the document: types, required
/// properties, and the properties and items it declares.
fn check_schema(doc: &Value, schema: &Value, value: &Value, at: &str) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(!target.is_null(), "{at}: unknown schema {name}");
        return check_schema(doc, target, value, at);
    }
    let matches = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_u64() || value.is_i64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    assert!(matches, "{at}: expected {}, got {value}", schema["type"]);
    if let Some(required) = schema["required"].as_array() {
        for name in required {
            let name = name.as_str().unwrap();
            assert!(
                value.get(name).is_some(),
                "{at}: required property {name} is missing in {value}"
            );
        }
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (name, property) in properties {
            if let Some(field) = object.get(name) {
                check_schema(doc, property, field, &format!("{at}.{name}"));
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            check_schema(doc, items, item, &format!("{at}[{index}]"));
        }
    }
}

/// Builds the request that should produce `status` for `operation`, or
/// `None` with the reason when the test has no recipe for it.
fn error_case(operation: &Operation, status: u16) -> Result<Request, String> {
    let mut request = Request::from_examples(operation);
    let has = |name: &str| request.path_values.contains_key(name);
    match status {
        400 => {
            if request.body.is_some() {
                request.body = Some(Value::String("{not json".into()));
            } else if operation
                .parameters("query")
                .iter()
                .any(|parameter| parameter["required"] == true)
            {
                let required: BTreeSet<String> = operation
                    .parameters("query")
                    .iter()
                    .filter(|parameter| parameter["required"] == true)
                    .map(|parameter| parameter["name"].as_str().unwrap().to_string())
                    .collect();
                request.query.retain(|(name, _)| !required.contains(name));
            } else if has("cellIndex") {
                request.path_values.insert("cellIndex".into(), json!("99"));
            } else if operation.path.ends_with("/queryResults/{path}") {
                // Neither a query nor a query name.
                request.query.clear();
            } else {
                return Err("no way to make a bad request".into());
            }
        }
        404 if has("project") => {
            let old = request
                .path_values
                .insert("project".into(), json!("no-such-project"));
            // PATCH of a project selects it by the body's name.
            if let Some(Value::Object(body)) = &mut request.body {
                if body.get("name") == old.as_ref() {
                    body.insert("name".into(), json!("no-such-project"));
                }
            }
        }
        424 if has("package") => {
            request
                .path_values
                .insert("package".into(), json!("broken"));
        }
        501 => match &mut request.body {
            Some(Value::Object(body)) => {
                body.insert("versionId".into(), json!("v1"));
            }
            _ => request.query.push(("versionId".into(), "v1".into())),
        },
        502 if has("connection") => {
            request
                .path_values
                .insert("connection".into(), json!("corrupt"));
        }
        // 403 and 409 reuse the success request on another server or twice.
        403 | 409 => {}
        other => return Err(format!("no recipe for status {other}")),
    }
    Ok(request)
}

/// The phase an operation's success case runs in: creations first,
/// deletions last, so each example finds what it needs.
fn phase(operation: &Operation) -> usize {
    match operation.method.as_str() {
        "post" => 0,
        "get" => 1,
        "patch" => 2,
        _ => 3,
    }
}

/// Extracts the paths the router serves from its `Debug` output (axum 0.8
/// prints each route's path pattern).
fn router_paths(server: &TestServer) -> BTreeSet<String> {
    let router = malloy_publisher::server::app(server.state.clone());
    let debug = format!("{router:?}");
    let mut paths = BTreeSet::new();
    let mut rest = debug.as_str();
    while let Some(start) = rest.find(": \"/") {
        let after = &rest[start + 3..];
        let end = after.find('"').unwrap();
        paths.insert(after[..end].to_string());
        rest = &after[end..];
    }
    assert!(
        paths.contains("/api/v0/status"),
        "cannot read the routes from {debug:.400}"
    );
    paths
        .into_iter()
        .filter(|path| path.starts_with("/api"))
        .collect()
}

/// Returns whether the router pattern `route` (`{name}` is one segment,
/// `{*name}` the rest) matches the document path `documented`.
fn route_matches(route: &str, documented: &str) -> bool {
    let route: Vec<&str> = route.split('/').collect();
    let documented: Vec<&str> = documented.split('/').collect();
    for (index, part) in route.iter().enumerate() {
        if part.starts_with("{*") {
            return documented.len() > index;
        }
        let Some(other) = documented.get(index) else {
            return false;
        };
        let parameter = part.starts_with('{') && other.starts_with('{');
        if !parameter && part != other {
            return false;
        }
    }
    route.len() == documented.len()
}

#[test]
fn api_doc_matches_router_and_responses() {
    let server = TestServer::start(false);
    let frozen = TestServer::start(true);

    let response = server.send(Method::GET, "/api-doc.yaml", None);
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = serde_yaml::from_str(&response.text().unwrap()).unwrap();
    assert_eq!(
        doc["openapi"].as_str().map(|version| &version[..2]),
        Some("3.")
    );
    let mut operations = operations(&doc);
    assert!(
        operations.len() > 50,
        "only {} operations documented",
        operations.len()
    );

    // Paths: the router and the document list the same ones.
    let routes = router_paths(&server);
    let documented: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for route in &routes {
        assert!(
            documented.iter().any(|path| route_matches(route, path)),
            "the router serves {route}, but api-doc.yaml does not document it"
        );
    }
    for path in &documented {
        assert!(
            path.as_str() == "/api-doc.yaml"
                || routes.iter().any(|route| route_matches(route, path)),
            "api-doc.yaml documents {path}, but the router does not serve it"
        );
    }

    // Methods: an undocumented method on a documented path is not served.
    for (path, item) in doc["paths"].as_object().unwrap() {
        let example = Operation {
            path: path.clone(),
            method: "get".into(),
            spec: item.as_object().unwrap().values().next().unwrap().clone(),
        };
        let request = Request::from_examples(&example);
        for method in METHODS {
            if item.get(method).is_some() {
                continue;
            }
            let probe = Request {
                method: method.to_uppercase().parse().unwrap(),
                query: Vec::new(),
                body: None,
                ..request.clone()
            };
            let (status, _) = probe.send(&server, path);
            assert!(
                status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_FOUND,
                "{} {path} is not documented but answers {status}",
                method.to_uppercase()
            );
        }
    }

    // Every operation: success, then each documented error status.
    operations.sort_by_key(phase);
    for operation in &operations {
        let request = Request::from_examples(operation);
        let (status, body) = request.send(&server, &operation.path);
        assert_eq!(status, StatusCode::OK, "{}: {body}", operation.id());
        let schema = &operation.spec["responses"]["200"]["content"]["application/json"]["schema"];
        if !schema.is_null() && !body.is_null() {
            check_schema(&doc, schema, &body, &operation.id());
        }

        for expected in operation.documented_statuses() {
            if expected == 200 {
                continue;
            }
            let case = error_case(operation, expected)
                .unwrap_or_else(|reason| panic!("{}: {expected}: {reason}", operation.id()));
            let target = if expected == 403 { &frozen } else { &server };
            let (status, body) = case.send(target, &operation.path);
            assert_eq!(
                status.as_u16(),
                expected,
                "{} with {case:?}: {body}",
                operation.id()
            );
            assert_eq!(body["code"], json!(expected), "{}: {body}", operation.id());
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                !message.is_empty(),
                "{}: {expected} without a message",
                operation.id()
            );
            assert!(
                !message.contains(server.root.to_str().unwrap()),
                "{}: the message shows a server path: {message}",
                operation.id()
            );
        }
    }
}

#[test]
fn route_matching_handles_catch_all() {
    let route = "/api/v0/projects/{project}/packages/{package}/models/{*path}";
    assert!(route_matches(
        route,
        "/api/v0/projects/{project}/packages/{package}/models/{path}/query"
    ));
    assert!(!route_matches(
        route,
        "/api/v0/projects/{project}/packages/{package}/models"
    ));
    assert!(route_matches("/api/v0/status", "/api/v0/status"));
    assert!(!route_matches("/api/v0/status", "/api/v0/projects"));
}
