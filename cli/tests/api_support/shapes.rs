//! The shapes of Mailpit's API responses, as `catcher/API.md` writes them
//! down, and a checker: every field present with its type, no other
//! field.

use serde_json::Value;

/// A JSON shape.
#[derive(Debug)]
pub enum Shape {
    /// A string.
    Str,
    /// A string in RFC 3339.
    Time,
    /// true or false.
    Bool,
    /// A whole number, 0 or more.
    UInt,
    /// `null`.
    Null,
    /// An array (never `null`) of one shape.
    Array(&'static Shape),
    /// An object with any keys, values of one shape.
    Map(&'static Shape),
    /// An object with exactly these fields.
    Object(&'static [(&'static str, Shape)]),
}

pub static ADDRESS: Shape = Shape::Object(&[("Name", Shape::Str), ("Address", Shape::Str)]);
pub static ADDRESSES: Shape = Shape::Array(&ADDRESS);
pub static STRINGS: Shape = Shape::Array(&Shape::Str);

pub static MESSAGE_SUMMARY: Shape = Shape::Object(&[
    ("ID", Shape::Str),
    ("MessageID", Shape::Str),
    ("Read", Shape::Bool),
    (
        "From",
        Shape::Object(&[("Name", Shape::Str), ("Address", Shape::Str)]),
    ),
    ("To", Shape::Array(&ADDRESS)),
    ("Cc", Shape::Array(&ADDRESS)),
    ("Bcc", Shape::Array(&ADDRESS)),
    ("ReplyTo", Shape::Array(&ADDRESS)),
    ("Subject", Shape::Str),
    ("Created", Shape::Time),
    ("Username", Shape::Str),
    ("Tags", Shape::Array(&Shape::Str)),
    ("Size", Shape::UInt),
    ("Attachments", Shape::UInt),
    ("Snippet", Shape::Str),
]);

pub static MESSAGES_SUMMARY: Shape = Shape::Object(&[
    ("total", Shape::UInt),
    ("unread", Shape::UInt),
    ("count", Shape::UInt),
    ("messages_count", Shape::UInt),
    ("messages_unread", Shape::UInt),
    ("start", Shape::UInt),
    ("tags", Shape::Array(&Shape::Str)),
    ("messages", Shape::Array(&MESSAGE_SUMMARY)),
]);

pub static ATTACHMENT: Shape = Shape::Object(&[
    ("PartID", Shape::Str),
    ("FileName", Shape::Str),
    ("ContentType", Shape::Str),
    ("ContentID", Shape::Str),
    ("Size", Shape::UInt),
    (
        "Checksums",
        Shape::Object(&[
            ("MD5", Shape::Str),
            ("SHA1", Shape::Str),
            ("SHA256", Shape::Str),
        ]),
    ),
]);

pub static MESSAGE: Shape = Shape::Object(&[
    ("ID", Shape::Str),
    ("MessageID", Shape::Str),
    (
        "From",
        Shape::Object(&[("Name", Shape::Str), ("Address", Shape::Str)]),
    ),
    ("To", Shape::Array(&ADDRESS)),
    ("Cc", Shape::Array(&ADDRESS)),
    ("Bcc", Shape::Array(&ADDRESS)),
    ("ReplyTo", Shape::Array(&ADDRESS)),
    ("ReturnPath", Shape::Str),
    ("Subject", Shape::Str),
    (
        "ListUnsubscribe",
        Shape::Object(&[
            ("Header", Shape::Str),
            ("Links", Shape::Array(&Shape::Str)),
            ("Errors", Shape::Str),
            ("HeaderPost", Shape::Str),
        ]),
    ),
    ("Date", Shape::Time),
    ("Tags", Shape::Array(&Shape::Str)),
    ("Username", Shape::Str),
    ("Text", Shape::Str),
    ("HTML", Shape::Str),
    ("Size", Shape::UInt),
    ("Inline", Shape::Array(&ATTACHMENT)),
    ("Attachments", Shape::Array(&ATTACHMENT)),
]);

pub static HEADERS: Shape = Shape::Map(&STRINGS);

pub static APP_INFORMATION: Shape = Shape::Object(&[
    ("Version", Shape::Str),
    ("LatestVersion", Shape::Str),
    ("Database", Shape::Str),
    ("DatabaseSize", Shape::UInt),
    ("Messages", Shape::UInt),
    ("Unread", Shape::UInt),
    ("Tags", Shape::Map(&Shape::UInt)),
    (
        "RuntimeStats",
        Shape::Object(&[
            ("Uptime", Shape::UInt),
            ("Memory", Shape::UInt),
            ("MessagesDeleted", Shape::UInt),
            ("SMTPAccepted", Shape::UInt),
            ("SMTPAcceptedSize", Shape::UInt),
            ("SMTPRejected", Shape::UInt),
            ("SMTPIgnored", Shape::UInt),
        ]),
    ),
]);

pub static EVENT_UPDATE: Shape = Shape::Object(&[("ID", Shape::Str), ("Read", Shape::Bool)]);
pub static EVENT_DELETE: Shape = Shape::Object(&[("ID", Shape::Str)]);
pub static EVENT_STATS: Shape = Shape::Object(&[
    ("Total", Shape::UInt),
    ("Unread", Shape::UInt),
    ("Version", Shape::Str),
]);

/// The shape of an event's `Data`, by its `Type`.
pub fn event_data(kind: &str) -> &'static Shape {
    match kind {
        "new" => &MESSAGE_SUMMARY,
        "update" => &EVENT_UPDATE,
        "delete" => &EVENT_DELETE,
        "stats" => &EVENT_STATS,
        "truncate" | "prune" => &Shape::Null,
        other => panic!("unknown event type {other:?}"),
    }
}

/// Checks an event: `{"Type": …, "Data": …}` with the data of its type.
pub fn check_event(event: &Value) {
    let object = event.as_object().expect("an event is an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["Data", "Type"], "{event}");
    let kind = event["Type"].as_str().expect("Type is a string");
    check(&event["Data"], event_data(kind));
}

/// Panics unless `value` has `shape`.
pub fn check(value: &Value, shape: &Shape) {
    check_at(value, shape, "$");
}

fn is_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && (text.ends_with('Z') || b[b.len() - 3] == b':')
        && text[..4].bytes().all(|c| c.is_ascii_digit())
}

fn check_at(value: &Value, shape: &Shape, at: &str) {
    match shape {
        Shape::Str => assert!(value.is_string(), "{at}: a string expected, got {value}"),
        Shape::Time => assert!(
            value.as_str().is_some_and(is_time),
            "{at}: an RFC 3339 time expected, got {value}"
        ),
        Shape::Bool => assert!(value.is_boolean(), "{at}: a boolean expected, got {value}"),
        Shape::UInt => assert!(value.is_u64(), "{at}: a whole number expected, got {value}"),
        Shape::Null => assert!(value.is_null(), "{at}: null expected, got {value}"),
        Shape::Array(item) => {
            let items = value
                .as_array()
                .unwrap_or_else(|| panic!("{at}: an array expected, got {value}"));
            for (n, v) in items.iter().enumerate() {
                check_at(v, item, &format!("{at}[{n}]"));
            }
        }
        Shape::Map(item) => {
            let map = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: an object expected, got {value}"));
            for (k, v) in map {
                check_at(v, item, &format!("{at}.{k}"));
            }
        }
        Shape::Object(fields) => {
            let map = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: an object expected, got {value}"));
            for (name, field) in *fields {
                let v = map
                    .get(*name)
                    .unwrap_or_else(|| panic!("{at}: field {name} missing in {value}"));
                check_at(v, field, &format!("{at}.{name}"));
            }
            for key in map.keys() {
                assert!(
                    fields.iter().any(|(name, _)| name == key),
                    "{at}: unexpected field {key}"
                );
            }
        }
    }
}
