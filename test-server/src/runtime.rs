//! The runtime the test server runs on, chosen by the crate's features
//! (tokio, smol or async-std), on a thread of its own.

use std::future::Future;

#[cfg(feature = "tokio")]
pub(crate) use mailwire_tokio::Tokio as Rt;

#[cfg(all(feature = "smol", not(feature = "tokio")))]
pub(crate) use mailwire_smol::Smol as Rt;

#[cfg(all(feature = "async-std", not(any(feature = "tokio", feature = "smol"))))]
pub(crate) use mailwire_async_std::AsyncStd as Rt;

#[cfg(not(any(feature = "tokio", feature = "smol", feature = "async-std")))]
compile_error!("mailwire-test-server needs one runtime feature: tokio, smol or async-std");

/// Runs `fut` to its end on this thread, with the chosen runtime.
#[cfg(feature = "tokio")]
pub(crate) fn block_on<F: Future>(fut: F) -> std::io::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(fut))
}

/// Runs `fut` to its end on this thread, with the chosen runtime.
#[cfg(all(feature = "smol", not(feature = "tokio")))]
pub(crate) fn block_on<F: Future>(fut: F) -> std::io::Result<F::Output> {
    Ok(smol::block_on(fut))
}

/// Runs `fut` to its end on this thread, with the chosen runtime.
#[cfg(all(feature = "async-std", not(any(feature = "tokio", feature = "smol"))))]
pub(crate) fn block_on<F: Future>(fut: F) -> std::io::Result<F::Output> {
    Ok(async_std::task::block_on(fut))
}
