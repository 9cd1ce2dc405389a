//! Mailpit's `/api/v1` routes and `/livez`, `/readyz`: paths, query
//! parameters, bodies, status codes and error bodies as Mailpit serves
//! them (`catcher/API.md` writes them down).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::changes::Told;
use crate::id::Id;
use crate::index::Index;
use crate::json::{AppInformation, RuntimeStats};
use crate::search::Query;
use crate::time::parse_offset;

/// The page size when `limit` is not given.
const DEFAULT_LIMIT: usize = 50;

/// The policy parts are served under: nothing in them runs or loads.
const PART_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

type Params = UrlQuery<HashMap<String, String>>;

/// The routes.
pub fn routes() -> Router<Arc<Index>> {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route(
            "/api/v1/messages",
            get(list).put(set_read).delete(delete_messages),
        )
        .route("/api/v1/search", get(search).delete(delete_search))
        .route("/api/v1/message/{id}", get(message))
        .route("/api/v1/message/{id}/raw", get(raw))
        .route("/api/v1/message/{id}/headers", get(headers))
        .route("/api/v1/message/{id}/part/{part}", get(part))
        .route("/api/v1/info", get(info))
}

/// Plain text with `status`.
fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut response = (status, body.into()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Mailpit's `400` with a message.
fn bad_request(message: impl Into<String>) -> Response {
    text(StatusCode::BAD_REQUEST, message)
}

/// Mailpit's `404` (Go's wording).
pub async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "404 page not found")
}

/// `200 ok`, as Mailpit confirms a change.
fn ok() -> Response {
    text(StatusCode::OK, "ok")
}

/// JSON text with `200`.
fn json_text(body: String) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A value as a JSON response.
fn json<T: serde::Serialize>(value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => json_text(body),
        Err(e) => bad_request(e.to_string()),
    }
}

/// Runs blocking file work off the runtime's thread.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(work).await.ok()
}

/// `start` and `limit` as Mailpit reads them: whole numbers, `start`
/// above 0 and `limit` at least 0, else 0 and 50.
fn start_limit(params: &HashMap<String, String>) -> (usize, usize) {
    let number = |key: &str| params.get(key).and_then(|v| v.parse::<i64>().ok());
    let start = number("start").filter(|n| *n > 0).unwrap_or(0);
    let limit = number("limit")
        .filter(|n| *n >= 0)
        .map_or(DEFAULT_LIMIT as i64, |n| n);
    (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(limit).unwrap_or(DEFAULT_LIMIT),
    )
}

/// The `query` parameter as a search (with `tz`), or `None` when it is
/// empty.
fn query_of(params: &HashMap<String, String>) -> Option<Query> {
    let text = params.get("query").map_or("", |q| q.trim());
    if text.is_empty() {
        return None;
    }
    let offset = params
        .get("tz")
        .and_then(|tz| parse_offset(tz))
        .unwrap_or(0);
    Some(Query::parse(text, offset))
}

async fn livez() -> StatusCode {
    StatusCode::OK
}

async fn readyz(State(index): State<Arc<Index>>) -> Response {
    if index.is_ready() {
        StatusCode::OK.into_response()
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
    }
}

async fn list(State(index): State<Arc<Index>>, UrlQuery(params): Params) -> Response {
    let (start, limit) = start_limit(&params);
    json_text(index.page(start, limit).json)
}

async fn search(State(index): State<Arc<Index>>, UrlQuery(params): Params) -> Response {
    let Some(query) = query_of(&params) else {
        return bad_request("Error: no search query");
    };
    let (start, limit) = start_limit(&params);
    match blocking(move || index.search(&query, start, limit)).await {
        Some(page) => json_text(page.json),
        None => bad_request("the search failed"),
    }
}

async fn delete_search(State(index): State<Arc<Index>>, UrlQuery(params): Params) -> Response {
    let Some(query) = query_of(&params) else {
        return bad_request("Error: no search query");
    };
    let done = blocking(move || {
        let ids: Vec<Id> = index
            .matching(&query)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        index.delete(&ids, Told::DeletedOrPrune)
    })
    .await;
    match done {
        Some(Ok(_)) => ok(),
        Some(Err(e)) => bad_request(e.to_string()),
        None => bad_request("the deletion failed"),
    }
}

/// A JSON body's field, its name matched without regard to case (as Go
/// decodes).
fn field<'v>(body: &'v serde_json::Value, name: &str) -> Option<&'v serde_json::Value> {
    body.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Parses a JSON request body; Go's wording for an empty one.
fn parse_body(body: &Bytes) -> Result<serde_json::Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("EOF".to_owned());
    }
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// The `IDs` of a body: `None` when absent or empty, else the IDs of a
/// valid form among them (an ID of another form names no message, so a
/// list of only such IDs is empty and changes nothing).
fn ids_of(body: &serde_json::Value) -> Result<Option<Vec<Id>>, String> {
    match field(body, "IDs") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Array(items)) => {
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                let text = item
                    .as_str()
                    .ok_or("json: cannot unmarshal a non-string into IDs")?;
                if let Ok(id) = text.parse() {
                    ids.push(id);
                }
            }
            Ok((!items.is_empty()).then_some(ids))
        }
        Some(_) => Err("json: cannot unmarshal IDs: an array of strings is expected".to_owned()),
    }
}

async fn set_read(
    State(index): State<Arc<Index>>,
    UrlQuery(params): Params,
    body: Bytes,
) -> Response {
    let body = match parse_body(&body) {
        Ok(body) => body,
        Err(e) => return bad_request(e),
    };
    let read = match field(&body, "Read") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return bad_request("json: cannot unmarshal Read: true or false is expected"),
    };
    let ids = match ids_of(&body) {
        Ok(ids) => ids,
        Err(e) => return bad_request(e),
    };
    let search = field(&body, "Search")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned();
    if ids.is_some() && !search.is_empty() {
        return bad_request("You may specify either IDs or a search query, not both");
    }
    let tz = params
        .get("tz")
        .and_then(|tz| parse_offset(tz))
        .unwrap_or(0);
    let done = blocking(move || {
        let ids = match ids {
            Some(ids) => ids,
            None if !search.is_empty() => index
                .matching(&Query::parse(&search, tz))
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            None => index.all_ids(),
        };
        index.set_read(&ids, read)
    })
    .await;
    match done {
        Some(Ok(())) => ok(),
        Some(Err(e)) => bad_request(e.to_string()),
        None => bad_request("the change failed"),
    }
}

async fn delete_messages(State(index): State<Arc<Index>>, body: Bytes) -> Response {
    // A body that does not parse, or names no IDs, deletes everything.
    let ids = parse_body(&body)
        .ok()
        .and_then(|b| ids_of(&b).ok().flatten());
    let done = blocking(move || match ids {
        Some(ids) => index.delete(&ids, Told::EachDeleted),
        None => index.delete(&index.all_ids(), Told::Truncate),
    })
    .await;
    match done {
        Some(Ok(_)) => ok(),
        Some(Err(e)) => bad_request(e.to_string()),
        None => bad_request("the deletion failed"),
    }
}

/// The message an `{id}` path segment names: an ID, or `latest` (the
/// newest, or the newest matching `query`). `Err` is the `404` response.
fn resolve(index: &Index, id: &str, params: &HashMap<String, String>) -> Result<Id, Box<Response>> {
    if id == "latest" {
        return index
            .latest(query_of(params).as_ref())
            .ok_or_else(|| Box::new(text(StatusCode::NOT_FOUND, "Message not found")));
    }
    id.parse()
        .map_err(|_| Box::new(text(StatusCode::NOT_FOUND, "404 page not found")))
}

/// The entry and file content of `id`, read off the runtime's thread.
async fn load(index: Arc<Index>, id: Id) -> Option<(crate::index::Entry, Vec<u8>)> {
    blocking(move || {
        let (entry, path) = index.get(id)?;
        let raw = std::fs::read(path).ok()?;
        Some((entry, raw))
    })
    .await
    .flatten()
}

async fn message(
    State(index): State<Arc<Index>>,
    Path(id): Path<String>,
    UrlQuery(params): Params,
) -> Response {
    let id = match resolve(&index, &id, &params) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let Some((entry, raw)) = load(index.clone(), id).await else {
        return not_found().await;
    };
    let view = match blocking(move || crate::view::message(&entry, &raw)).await {
        Some(view) => view,
        None => return not_found().await,
    };
    // Viewing a message marks it read.
    let marked = blocking(move || index.set_read(&[id], true)).await;
    if let Some(Err(e)) = marked {
        eprintln!("mailwire serve: {e}");
    }
    json(&view)
}

async fn raw(
    State(index): State<Arc<Index>>,
    Path(id): Path<String>,
    UrlQuery(params): Params,
) -> Response {
    let id = match resolve(&index, &id, &params) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let Some((_, raw)) = load(index, id).await else {
        return not_found().await;
    };
    let mut response = (StatusCode::OK, Body::from(raw)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if params.get("dl").is_some_and(|d| d == "1")
        && let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{id}.eml\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn headers(
    State(index): State<Arc<Index>>,
    Path(id): Path<String>,
    UrlQuery(params): Params,
) -> Response {
    let id = match resolve(&index, &id, &params) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let Some((_, raw)) = load(index, id).await else {
        return not_found().await;
    };
    json(&crate::view::headers(&raw))
}

/// A file name as a `Content-Disposition` parameter: path-escaped, as
/// Mailpit writes it.
fn escaped_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn part(
    State(index): State<Arc<Index>>,
    Path((id, part_id)): Path<(String, String)>,
    UrlQuery(params): Params,
) -> Response {
    let id = match resolve(&index, &id, &params) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let Some((_, raw)) = load(index, id).await else {
        return not_found().await;
    };
    let Some(Some((content_type, name, content))) =
        blocking(move || crate::view::part(&raw, &part_id)).await
    else {
        return not_found().await;
    };
    let mut response = (StatusCode::OK, Body::from(content)).into_response();
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", escaped_name(&name)))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PART_CSP),
    );
    response
}

/// Resident memory of this process in octets (0 when unknown).
fn resident_memory() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn info(State(index): State<Arc<Index>>) -> Response {
    let body = {
        let state = index.read();
        AppInformation {
            version: index.version.clone(),
            latest_version: "disabled",
            database: index.root.display().to_string(),
            database_size: state.bytes,
            messages: state.len() as u64,
            unread: state.unread,
            tags: std::collections::BTreeMap::new(),
            runtime_stats: RuntimeStats {
                uptime: index.started.elapsed().as_secs(),
                memory: resident_memory(),
                messages_deleted: index.deleted.load(std::sync::atomic::Ordering::Relaxed),
                smtp_accepted: index.accepted.load(std::sync::atomic::Ordering::Relaxed),
                smtp_accepted_size: index
                    .accepted_size
                    .load(std::sync::atomic::Ordering::Relaxed),
                smtp_rejected: index.rejected.load(std::sync::atomic::Ordering::Relaxed),
                smtp_ignored: 0,
            },
        }
    };
    json(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_and_limit_as_mailpit_reads_them() {
        let p = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>()
        };
        assert_eq!(start_limit(&p(&[])), (0, 50));
        assert_eq!(start_limit(&p(&[("start", "5"), ("limit", "2")])), (5, 2));
        assert_eq!(
            start_limit(&p(&[("start", "-1"), ("limit", "-1")])),
            (0, 50)
        );
        assert_eq!(start_limit(&p(&[("start", "x"), ("limit", "0")])), (0, 0));
    }

    #[test]
    fn file_names_are_escaped() {
        assert_eq!(escaped_name("report.pdf"), "report.pdf");
        assert_eq!(escaped_name("a \"b\"/c.txt"), "a%20%22b%22%2Fc.txt");
    }
}
