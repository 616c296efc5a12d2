//! The OpenAPI 3.1 description of the staff, desk and administration API, generated from
//! [`crate::staff::STAFF_ROUTES`], the same table the guard enforces: a route cannot be served
//! without being described, nor described with other roles than it enforces.

use crate::staff::{Access, STAFF_ROUTES};
use serde_json::{Map, Value, json};

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in STAFF_ROUTES {
        let mut op = Map::new();
        op.insert("summary".into(), json!(route.summary));
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        match route.access {
            Access::Public => {
                op.insert("security".into(), json!([]));
            }
            Access::AnySession => {
                op.insert(
                    "x-teeka-roles".into(),
                    json!("any signed-in member of staff"),
                );
            }
            Access::Roles(roles) => {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                op.insert("x-teeka-roles".into(), json!(names));
            }
        }
        if let Some(example) = route.example {
            let example: Value = serde_json::from_str(example).unwrap_or(Value::Null);
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}, "example": example}}}),
            );
        }
        op.insert(
            "responses".into(),
            json!({
                "200": {"description": "Done (201 when created, 204 when there is nothing to return)"},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "409": {"$ref": "#/components/responses/Error"},
                "429": {"$ref": "#/components/responses/Error"}
            }),
        );
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(route.method.to_ascii_lowercase(), Value::Object(op));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Teeka staff, desk and administration API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Staff sign in with password and authenticator code. Every route lists the roles allowed in x-teeka-roles; anything else is refused (deny by default). Errors are {\"code\",\"message\"}; codes are in docs/errors.md."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "teeka_staff"}
            },
            "responses": {
                "Error": {
                    "description": "Refused",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
                    }}}
                }
            }
        }
    })
}
