//! The websocket `/api/events`: every change to the mailbox as Mailpit's
//! events, `{"Type": …, "Data": …}` in a text frame each (`new`,
//! `update`, `delete`, `truncate`, `prune`, `stats`).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use tokio::sync::broadcast::error::RecvError;

use crate::index::Index;

/// How often a client is pinged (dead connections are noticed).
const PING_EVERY: Duration = Duration::from_secs(30);

/// The route.
pub fn routes() -> Router<Arc<Index>> {
    Router::new().route("/api/events", get(upgrade))
}

async fn upgrade(State(index): State<Arc<Index>>, ws: WebSocketUpgrade) -> Response {
    // Subscribed before the upgrade completes: no event after the 101 is
    // missed.
    let events = index.subscribe();
    ws.on_upgrade(move |socket| forward(socket, events))
}

/// Sends every event to the client until either side closes; a client
/// that falls too far behind gets a `prune` (reload everything) in place
/// of what it missed.
async fn forward(
    mut socket: WebSocket,
    mut events: tokio::sync::broadcast::Receiver<axum::extract::ws::Utf8Bytes>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            event = events.recv() => {
                let text = match event {
                    Ok(text) => text,
                    Err(RecvError::Lagged(_)) => r#"{"Type":"prune","Data":null}"#.into(),
                    Err(RecvError::Closed) => break,
                };
                if socket.send(Message::Text(text)).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => {
                match incoming {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                    Some(Ok(_)) => {}
                }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
}
