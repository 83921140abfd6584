//! Building and running the server. Tests call the same [`Application::build`] with
//! port 0, so they exercise exactly what `pointcast serve` runs.
//!
//! Start-up makes the shared parts once, before any worker: the database handle
//! and the [`Publication`] it shares with the tailer, the hub, the tailer (and on
//! PostgreSQL the listener), retention, the scheduler, the mailer; then each
//! worker routes every accepted connection to the lean path or to actix.

use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_http::HttpService;
use actix_service::{
    IntoServiceFactory, ServiceFactory, ServiceFactoryExt, fn_factory, fn_service, map_config,
};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Server, ServerHandle, Service, ServiceRequest, ServiceResponse};
use actix_web::http::KeepAlive;
use actix_web::{App, web};
use anyhow::Context;
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::auth::throttle::LoginThrottle;
use crate::auth::{self, Role, password};
use crate::cors::Cors;
use crate::db::users::NewUser;
use crate::db::{Backend, Db};
use crate::events::connections::{self, Connections};
use crate::events::feed::Feeds;
use crate::events::hub::Hub;
use crate::events::publication::Publication;
use crate::events::{listener, retention, tailer};
use crate::jobs::scheduler::Scheduler;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::settings::Settings;
use crate::state::AppState;
use crate::transport::edge::{self, beat::Beats, conn, wire::Wire};
use crate::transport::socket;
use crate::{guard, mail, routes};

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

/// Stops a running [`Application`] gracefully: streams end (clients retry), waiting
/// long-polls answer, in-flight requests finish.
#[derive(Clone)]
pub struct Shutdown {
    token: CancellationToken,
    server: ServerHandle,
}

impl Shutdown {
    pub async fn stop(&self) {
        self.token.cancel();
        self.server.stop(true).await;
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        crate::tls::install_provider();
        let cors = Cors::new(&settings.cors_origins)?;
        // The hand-over between this instance's commits and its tailer.
        let publication = Arc::new(Publication::default());
        let db = Db::connect_with(
            &settings.database_url,
            settings.database_pool,
            Arc::clone(&publication),
        )
        .await?;
        bootstrap_admin(&db, &settings).await?;
        crate::demo::seed_if_asked(&db, &settings).await?;
        let shutdown = CancellationToken::new();
        let head = db.log().head().await?;
        let push = &settings.push;
        let hub = Arc::new(Hub::new(
            head,
            push.ring_capacity,
            push.queue_capacity,
            shutdown.clone(),
        ));
        tokio::spawn(Arc::clone(&hub).close_at_shutdown());
        let metrics = Arc::new(Metrics::default());
        tokio::spawn(tailer::run(
            db.clone(),
            Arc::clone(&publication),
            Arc::clone(&hub),
            Arc::clone(&metrics),
            head,
            push.tail_interval,
            shutdown.clone(),
        ));
        if db.backend() == Backend::Postgres {
            tokio::spawn(listener::run(
                db.url().to_string(),
                db.instance_tag().to_string(),
                publication,
                db.session_cache(),
                shutdown.clone(),
            ));
        }
        tokio::spawn(retention::run(
            db.clone(),
            push.retention,
            push.prune_interval,
            shutdown.clone(),
        ));
        let scheduler = Scheduler::new(db.clone(), Arc::clone(&settings.clock));
        scheduler.install().await?;
        tokio::spawn(Arc::clone(&scheduler).run(shutdown.clone()));
        let mail_wake = Arc::new(Notify::new());
        if let (Some(url), Some(_)) = (&settings.smtp_url, &settings.admin_email) {
            let target = mail::SmtpTarget::parse(url)?;
            mail::check_from(&settings.mail.from)?;
            // A CA file that cannot be read stops the server now, not every mail later.
            mail::transport(&target, &settings.mail)?;
            let (db, wake, mail) = (db.clone(), Arc::clone(&mail_wake), settings.mail.clone());
            tokio::spawn(mail::run(db, target, mail, wake, shutdown.clone()));
        }
        let support = &settings.support;
        let connections = Arc::new(Connections::new(
            push.max_streams_per_principal,
            push.max_anonymous_per_address,
        ));
        tokio::spawn(crate::trim::run(shutdown.clone()));
        tokio::spawn(connections::watch(
            Arc::clone(&connections),
            db.clone(),
            Arc::clone(&settings.clock),
            shutdown.clone(),
        ));
        let feeds = Feeds::new(
            db.clone(),
            Arc::clone(&hub),
            Arc::clone(&connections),
            push.batch_limit,
        );
        let state = web::Data::new(AppState {
            db,
            hub,
            connections,
            feeds: Arc::new(feeds),
            support_limiter: Arc::new(RateLimiter::new(support.rate_burst, support.rate_window)),
            inquiry_limiter: RateLimiter::new(support.inquiry_burst, support.inquiry_window),
            cors,
            mail_wake,
            settings: Arc::new(settings.clone()),
            metrics,
            login_throttle: LoginThrottle::new(settings.login_throttle.clone()),
            scheduler,
            shutdown,
        });

        let listener = TcpListener::bind(&settings.listen)
            .with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let mut builder = actix_server::Server::build()
            .disable_signals()
            .shutdown_timeout(settings.shutdown_timeout.as_secs().max(1));
        if settings.workers > 0 {
            builder = builder.workers(settings.workers);
        }
        let factory = {
            let (state, addr) = (state.clone(), listener.local_addr()?);
            let signal = builder.graceful_shutdown_signal();
            let heads = Arc::new(Semaphore::new(settings.push.max_unfinished_heads));
            move || worker_service(state.clone(), addr, signal.clone(), Arc::clone(&heads))
        };
        let server = builder.listen("pointcast", listener, factory)?.run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn shutdown_handle(&self) -> Shutdown {
        Shutdown {
            token: self.state.shutdown.clone(),
            server: self.server.handle(),
        }
    }

    /// Runs until SIGINT/SIGTERM or [`Shutdown::stop`].
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let shutdown = self.shutdown_handle();
        let db = self.state.db.clone();
        let signals = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                wait_for_signal().await;
                tracing::info!("stopping: ending streams, finishing requests");
                shutdown.stop().await;
            }
        });
        let result = self.server.await;
        signals.abort();
        shutdown.token.cancel();
        db.close().await;
        result.context("server")
    }
}

/// The per-worker service for accepted connections: socket options, then
/// [`conn::serve`], which reads each request head and serves it on the lean path
/// ([`edge`]) or hands the connection to actix-web's HTTP/1 dispatcher, built
/// exactly as `HttpServer::listen` builds it but over a [`Wire`] (which gives the
/// connection back when its next request is a stream or a poll).
fn worker_service(
    state: web::Data<AppState>,
    addr: SocketAddr,
    shutdown_signal: actix_server::GracefulShutdownSignal,
    heads: Arc<Semaphore>,
) -> impl ServiceFactory<TcpStream, Config = (), Response = (), Error = (), InitError = ()> {
    {
        let signal = shutdown_signal;
        let max_body = state.settings.max_body_bytes;
        let app = app(state.clone(), max_body)
            .into_factory()
            .map_err(|err: actix_web::Error| err.error_response());
        let h1 = HttpService::build()
            .graceful_shutdown_signal(move || {
                let signal = signal.clone();
                async move { signal.notified().await }
            })
            .keep_alive(KeepAlive::Timeout(edge::poll::KEEP_ALIVE))
            .client_request_timeout(edge::head::HEAD_TIMEOUT)
            .client_disconnect_timeout(Duration::from_secs(1))
            // Lets actix finish the responses it owes when a [`Wire`] ends its
            // reads to hand the connection back.
            .h1_allow_half_closed(true)
            .local_addr(addr)
            // The config `HttpServer` gives an app (its host name and local address).
            // actix-web makes it public only through this doc-hidden constructor
            // (`AppConfig::default()` would claim localhost:8080), so Cargo.toml
            // pins actix-web's exact version: review this call on each upgrade.
            .h1(map_config(app, move |_| {
                AppConfig::__priv_test_new(false, addr.to_string(), addr)
            }));
        fn_factory(move || {
            let h1 = h1.new_service(());
            let (state, heads) = (state.clone(), Arc::clone(&heads));
            async move {
                let h1 = Rc::new(h1.await.map_err(|_| ())?);
                let stalled = state.settings.push.stalled_timeout;
                let actix: conn::Actix = Rc::new(move |wire: Wire, peer| {
                    let h1 = Rc::clone(&h1);
                    Box::pin(async move {
                        let _ = h1.call((wire, peer)).await;
                    })
                });
                let beats = Beats::start(state.settings.push.heartbeat);
                let edge = Rc::new(conn::Edge {
                    state,
                    actix,
                    heads,
                    beats,
                });
                Ok(fn_service(move |io: TcpStream| {
                    socket::configure(&io, stalled);
                    // Boxed, and the box is all actix-server's task holds: its
                    // spawned `async move { f.await }` keeps a moved-in future
                    // twice (the captured value and the awaited one), so an
                    // unboxed connection future would be paid for two times
                    // over by every idle stream (docs/performance.md).
                    let serve: LocalBoxFuture<'static, ()> =
                        Box::pin(conn::serve(io, Rc::clone(&edge)));
                    serve.map(Ok::<(), ()>)
                }))
            }
        })
    }
}

/// The actix-web application: every route but the lean stream path.
fn app(
    app_state: web::Data<AppState>,
    max_body: usize,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(app_state.clone())
        .app_data(routes::json_config(max_body))
        .app_data(routes::query_config())
        .app_data(routes::path_config())
        .app_data(web::PayloadConfig::new(max_body))
        .wrap_fn({
            let state = app_state.clone();
            move |req, srv| guard::call(&state, req, srv)
        })
        .wrap_fn({
            let metrics = Arc::clone(&app_state.metrics);
            move |req, srv| {
                // Path only: a query string may carry an access token.
                let (method, path) = (req.method().clone(), req.path().to_string());
                let started = std::time::Instant::now();
                let metrics = Arc::clone(&metrics);
                srv.call(req).map(move |res| {
                    if let Ok(r) = &res {
                        let status = r.status().as_u16();
                        metrics.log_request(method.as_str(), &path, status, started, false);
                    }
                    res
                })
            }
        })
        .configure(routes::configure)
        .default_service(web::to(routes::not_found))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Ensures an admin exists. With a configured token, that token is the admin's
/// session (scripts and tests rely on it); otherwise the first start creates an
/// admin and prints its token and password once.
async fn bootstrap_admin(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    const FOREVER: i64 = 100 * 365 * 24 * 3600 * 1000;
    let existing = db.first_admin().await?;
    match (&settings.admin_token, existing) {
        (Some(token), Some(admin)) => db.create_session(token, admin.id, FOREVER).await,
        (Some(token), None) => {
            let admin = create_admin(db, None).await?;
            db.create_session(token, admin, FOREVER).await
        }
        (None, Some(_)) => Ok(()),
        (None, None) => {
            let pw = auth::new_token()[3..23].to_string();
            let admin = create_admin(db, Some(&pw)).await?;
            let token = auth::new_token();
            db.create_session(&token, admin, FOREVER).await?;
            println!(
                "pointcast: created the admin account (shown once)\n  login: admin\n  password: {pw}\n  token: {token}"
            );
            Ok(())
        }
    }
}

async fn create_admin(db: &Db, pw: Option<&str>) -> anyhow::Result<i64> {
    let hash = match pw {
        Some(p) => Some(password::hash(p.to_string()).await?),
        None => None,
    };
    let user = db
        .create_user(
            &NewUser {
                role: Role::Admin,
                login: Some("admin"),
                name: "Administrator",
                phone: None,
                password_hash: hash.as_deref(),
            },
            &[],
        )
        .await?;
    Ok(user.id)
}
