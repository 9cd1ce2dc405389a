//! The messages of a [`SessionHost`]: whole ones buffered within the
//! memory budget and delivered at their end, streamed ones pushed to the
//! delivery hook's [`BodyReader`](crate::server::BodyReader) while they
//! arrive.

use bytes::Bytes;
use mailwire_core::sasl::StoredSecret;
use mailwire_core::server::{AbortReason, ReceivedEnvelope, ServerConnection, Token, replies};

use super::{SessionHost, Streaming};
use crate::server::body::{Buffer, body_channel};
use crate::server::delivery::sealed::{Kind, Sealed};
use crate::server::error::{HookError, HookResult};
use crate::server::hooks::call;
use crate::server::session::{Session, SessionEnd, SessionFactory};
use crate::server::verdict::{Answer, received};

impl<F: SessionFactory> SessionHost<F> {
    pub(super) fn start_message(&mut self, conn: &ServerConnection, envelope: ReceivedEnvelope) {
        self.abort(None);
        let header = if self.options.add_received {
            received(conn, &envelope, &self.options)
        } else {
            Vec::new()
        };
        match <F::Session as Session>::Message::KIND {
            Kind::Stream => {
                let (sender, reader) = body_channel(self.options.body_queue);
                let Some(message) =
                    <F::Session as Session>::Message::stream(envelope, header, reader)
                else {
                    return;
                };
                let fut = call!(self.lend(), self.context(conn), |s, ctx| {
                    s.deliver(&ctx, message).await.map(|()| None)
                });
                self.streaming = Some(Streaming {
                    sender,
                    fut: Some(fut),
                    result: None,
                    token: None,
                });
            }
            Kind::Whole | Kind::Parsed => {
                self.buffer = Some(Buffer::new(self.options.memory_budget.clone(), header));
            }
        }
    }

    pub(super) fn data(&mut self, chunk: Bytes) {
        if let Some(s) = &self.streaming {
            s.sender.push(chunk);
        } else if let Some(b) = &mut self.buffer {
            b.push(&chunk);
        }
    }

    pub(super) fn end_message(
        &mut self,
        conn: &ServerConnection,
        token: Token,
        envelope: ReceivedEnvelope,
    ) {
        if let Some(mut s) = self.streaming.take() {
            s.sender.complete();
            s.token = Some(token);
            match s.result.take() {
                Some(result) => {
                    let answer = self.answer(token, false, result);
                    self.ready.push_back(answer);
                }
                None => self.streaming = Some(s),
            }
            return;
        }
        let Some(buffer) = self.buffer.take() else {
            let answer = self.answer(token, false, Err(HookError::failed("no message")));
            self.ready.push_back(answer);
            return;
        };
        if buffer.over_budget {
            let whole = envelope.size > buffer.reservation.limit();
            let refusal = if whole {
                HookError::Reply(replies::too_big_for_memory())
            } else {
                HookError::Reply(replies::insufficient_storage())
            };
            let answer = self.answer(token, false, Err(refusal));
            self.ready.push_back(answer);
            return;
        }
        let Buffer {
            trace,
            data,
            reservation,
            ..
        } = buffer;
        let Some(message) = <F::Session as Session>::Message::whole(envelope, trace, data) else {
            let answer = self.answer(token, false, Err(HookError::failed("no message")));
            self.ready.push_back(answer);
            return;
        };
        let fut = call!(self.lend(), self.context(conn), |s, ctx| {
            let _hold = reservation;
            s.deliver(&ctx, message).await.map(|()| None)
        });
        self.request(token, false, fut);
    }

    /// The message in progress was cut off (or a new one starts).
    pub(super) fn abort(&mut self, reason: Option<AbortReason>) {
        self.buffer = None;
        if let Some(s) = self.streaming.take() {
            s.sender.abort(reason);
            if let Some(fut) = s.fut {
                self.orphan(fut);
            }
        }
    }

    /// The streaming hook finished: its answer once the message has ended
    /// (kept until then), or a drop at once.
    pub(super) fn delivered(&mut self, result: HookResult<Option<StoredSecret>>) -> Option<Answer> {
        let s = self.streaming.as_mut()?;
        s.fut = None;
        if matches!(result, Err(HookError::Disconnect)) {
            // Dropped in the middle of the data: nothing is delivered.
            self.abort(Some(AbortReason::SessionClosed));
            self.end = Some(SessionEnd::Dropped);
            return Some(Answer::Drop);
        }
        match s.token {
            Some(token) => {
                self.streaming = None;
                Some(self.answer(token, false, result))
            }
            None => {
                s.result = Some(result);
                None
            }
        }
    }
}
