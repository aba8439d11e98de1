//! Secret fields of connection configurations: hidden in replies, kept on
//! updates that send the hidden form back.
//!
//! The web console edits a connection by sending back what `GET
//! connections` returned, so a field that arrives as [`REDACTED`] means
//! "keep the stored value".

use serde_json::{Map, Value as Json};

/// The value that replaces a secret in replies.
pub const REDACTED: &str = "********";

/// Returns whether a configuration key names a secret: passwords, keys,
/// tokens, connection strings and credentials.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "keyjson",
        "privatekey",
        "connectionstring",
        "credential",
        "apikey",
    ]
    .iter()
    .any(|marker| key.contains(marker))
}

/// Returns `connection` with every non-empty secret string, at any depth,
/// replaced by [`REDACTED`].
pub fn redact(connection: &Json) -> Json {
    match connection {
        Json::Object(fields) => Json::Object(
            fields
                .iter()
                .map(|(key, value)| {
                    let hidden = match value {
                        Json::String(text) if is_secret_key(key) && !text.is_empty() => {
                            Json::String(REDACTED.to_string())
                        }
                        Json::Object(_) | Json::Array(_) if is_secret_key(key) => {
                            Json::String(REDACTED.to_string())
                        }
                        other => redact(other),
                    };
                    (key.clone(), hidden)
                })
                .collect::<Map<String, Json>>(),
        ),
        Json::Array(items) => Json::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Returns `update` with every field that is [`REDACTED`] replaced by the
/// value at the same place in `stored`.
pub fn restore_secrets(stored: &Json, update: Json) -> Json {
    match update {
        Json::Object(fields) => Json::Object(
            fields
                .into_iter()
                .map(|(key, value)| {
                    let previous = stored.get(&key);
                    let value = match (value, previous) {
                        (Json::String(text), Some(previous)) if text == REDACTED => {
                            previous.clone()
                        }
                        (value @ Json::Object(_), Some(previous)) => {
                            restore_secrets(previous, value)
                        }
                        (value, _) => value,
                    };
                    (key, value)
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redact_hides_nested_secrets() {
        let connection = json!({
            "name": "pg",
            "postgresConnection": {"host": "db", "password": "hunter2", "connectionString": "postgres://u:p@db"},
            "bigqueryConnection": {"serviceAccountKeyJson": "{\"k\":1}"},
            "duckdbConnection": {"motherDuckToken": "tok"}
        });
        let hidden = redact(&connection);
        assert_eq!(hidden["postgresConnection"]["host"], "db");
        assert_eq!(hidden["postgresConnection"]["password"], REDACTED);
        assert_eq!(hidden["postgresConnection"]["connectionString"], REDACTED);
        assert_eq!(
            hidden["bigqueryConnection"]["serviceAccountKeyJson"],
            REDACTED
        );
        assert_eq!(hidden["duckdbConnection"]["motherDuckToken"], REDACTED);
        assert!(!hidden.to_string().contains("hunter2"));
    }

    #[test]
    fn restore_secrets_keeps_stored_password() {
        let stored =
            json!({"name": "pg", "postgresConnection": {"host": "a", "password": "hunter2"}});
        let update =
            json!({"name": "pg", "postgresConnection": {"host": "b", "password": REDACTED}});
        let merged = restore_secrets(&stored, update);
        assert_eq!(merged["postgresConnection"]["host"], "b");
        assert_eq!(merged["postgresConnection"]["password"], "hunter2");
    }

    #[test]
    fn restore_secrets_takes_new_password() {
        let stored = json!({"postgresConnection": {"password": "old"}});
        let update = json!({"postgresConnection": {"password": "new"}});
        assert_eq!(
            restore_secrets(&stored, update)["postgresConnection"]["password"],
            "new"
        );
    }
}
