//! [`serve`]: the accept loop over any [`Listener`], hyper's HTTP/1 connections (with
//! upgrades) calling a [`crate::HelpdeskService`], and graceful shutdown. The per-request
//! dispatch is the service's.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use helpdesk_core::Helpdesk;
use http::Request;
use hyper::body::Incoming;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::api_service::ClientAddr;
use crate::service::service;
use crate::state::ServerConfig;

/// Where [`serve`] takes its connections from: a [`TcpListener`], a Unix socket, a TLS
/// acceptor around either, or anything else that yields byte streams.
pub trait Listener: Send + 'static {
    /// One accepted connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection, with the client's address when there is one (it becomes
    /// the requests' [`ClientAddr`]; without one, see there). An error is logged and
    /// accepting goes on after a pause of 50 ms, so a failure of one connection (a TLS
    /// handshake) belongs in the connection's stream, not here.
    fn accept(&mut self)
    -> impl Future<Output = io::Result<(Self::Io, Option<SocketAddr>)>> + Send;
}

impl Listener for TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, Option<SocketAddr>)> {
        let (stream, peer) = TcpListener::accept(self).await?;
        Ok((stream, Some(peer)))
    }
}

#[cfg(unix)]
impl Listener for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    /// A Unix socket's peer has no IP address: its requests have no [`ClientAddr`].
    async fn accept(&mut self) -> io::Result<(Self::Io, Option<SocketAddr>)> {
        let (stream, _) = tokio::net::UnixListener::accept(self).await?;
        Ok((stream, None))
    }
}

/// Serves the API on `listener` until `shutdown` completes, then stops accepting,
/// lets requests in flight finish and WebSockets close with 1001 (together up to
/// [`ServerConfig::shutdown_grace`]) and returns. A thin loop around [`service()`]: each
/// connection's requests get the peer's [`ClientAddr`] and go to the service.
pub async fn serve<L: Listener>(
    mut listener: L,
    hd: Helpdesk,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let grace = config.shutdown_grace;
    // Subscribed before the first accept (when the store answers), so every socket gets
    // every later event.
    let svc = service(hd, config).await;
    // Connections watch `stopping` and each holds a clone of `open`; when the last
    // clone is gone, `closed` yields None. (hyper-util's GracefulShutdown does not take
    // connections with upgrades.) A connection ends when it upgrades: the WebSocket's
    // task, tracked by the hub, goes on.
    let (stopping, _) = tokio::sync::watch::channel(false);
    let (open, mut closed) = tokio::sync::mpsc::channel::<()>(1);

    match svc.helpdesk().has_no_users().await {
        Ok(true) => tracing::warn!(
            "no users yet: create the first admin with `helpdesk user create --role admin --email <email> --name <name> --password-stdin`"
        ),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "could not count users"),
    }

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let svc = svc.clone();
                let service = service_fn(move |mut req: Request<Incoming>| {
                    if let Some(peer) = peer {
                        req.extensions_mut().insert(ClientAddr::from(peer));
                    }
                    svc.call(req)
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(std::time::Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades();
                let mut stop = stopping.subscribe();
                let open = open.clone();
                tokio::spawn(async move {
                    let mut conn = std::pin::pin!(conn);
                    let result = tokio::select! {
                        r = conn.as_mut() => r,
                        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(open);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    svc.begin_shutdown();
    tracing::info!("shutting down: finishing requests in flight");
    stopping.send_replace(true);
    drop(open);
    // HTTP connections first: an upgrade starts its WebSocket's task before its
    // connection ends, so none starts after them. Then the WebSockets' tasks, told by
    // `begin_shutdown` to send 1001 and end. One deadline for both.
    let drained = async {
        let _ = closed.recv().await;
        svc.hub().closed().await;
    };
    tokio::select! {
        _ = drained => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(grace) => tracing::warn!("shutdown deadline passed; closing remaining connections"),
    }
    svc.wait_for_background().await;
    Ok(())
}

/// A server running in the background on a loopback port (tests, embedding).
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The absolute URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    /// Stops the server gracefully and waits for it.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `127.0.0.1:0` and serves in a background task.
pub async fn spawn(hd: Helpdesk, config: ServerConfig) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, hd, config, async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        stop: Some(stop),
        task,
    })
}
