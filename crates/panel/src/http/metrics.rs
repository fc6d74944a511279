//! Prometheus metrics at `/metrics` (OpenMetrics text): requests by method, route template
//! and status, request latency, requests in flight, uptime, database pool use and nodes
//! by status. Routes are labelled with their template (`/api/users/{user_id}`), never the
//! raw path, so the number of series stays bounded. Only an administrator holding
//! `monitoring:view` or a scraper presenting the configured metrics token may read them.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use subtle::ConstantTimeEq;

use crate::auth::principal::{self, KeyFamily};
use crate::auth::tokens::hash_secret;
use crate::error::{Error, Result};
use crate::services::health;
use crate::state::AppState;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Latency buckets in seconds, from 1 ms to the request timeout.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// The route label of requests no route matched.
const UNMATCHED: &str = "unmatched";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// The panel's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    in_flight: Gauge,
    uptime: Gauge,
    db_connections: Family<StateLabels, Gauge>,
    nodes: Family<StateLabels, Gauge>,
    app: AppState,
}

impl Metrics {
    pub fn new(app: AppState) -> Metrics {
        let mut registry = Registry::with_prefix("cap_panel");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(LATENCY_BUCKETS)) as fn() -> Histogram,
        );
        let (in_flight, uptime) = (Gauge::default(), Gauge::default());
        let db_connections = Family::<StateLabels, Gauge>::default();
        let nodes = Family::<StateLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being served",
            in_flight.clone(),
        );
        registry.register(
            "uptime_seconds",
            "Seconds since the panel started",
            uptime.clone(),
        );
        registry.register(
            "db_connections",
            "Database pool connections by state",
            db_connections.clone(),
        );
        registry.register("nodes", "Nodes by agent status", nodes.clone());
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                latency,
                in_flight,
                uptime,
                db_connections,
                nodes,
                app,
            }),
        }
    }

    /// `GET /metrics`.
    pub fn route<S: Clone + Send + Sync + 'static>(&self) -> MethodRouter<S> {
        get(export).with_state(self.clone())
    }

    /// Reads the values that are sampled rather than counted.
    async fn sample(&self) {
        let inner = &self.inner;
        inner.uptime.set(gauge(inner.app.uptime_secs()));
        let db = inner.app.db();
        let (size, idle) = crate::db::pool_usage(db);
        let connections = |state| inner.db_connections.get_or_create(&StateLabels { state });
        connections("idle").set(gauge(idle));
        connections("busy").set(gauge(size.saturating_sub(idle)));
        match health::agent_counts(db).await {
            Ok(counts) => {
                for (state, count) in [
                    ("online", counts.online),
                    ("offline", counts.offline),
                    ("degraded", counts.degraded),
                    ("unknown", counts.unknown),
                ] {
                    inner
                        .nodes
                        .get_or_create(&StateLabels { state })
                        .set(gauge(count));
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics: counting nodes failed"),
        }
    }
}

fn gauge(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

/// Lets a scraper with the configured token or an administrator allowed
/// `monitoring:view` (cookie or API key) through.
async fn authorize(app: &AppState, headers: &HeaderMap) -> Result<()> {
    let bearer = principal::bearer_token(headers);
    if let (Some(expected), Some(presented)) = (app.config().metrics_token.as_deref(), bearer) {
        // Equal-length digests, compared in constant time: neither the token nor its
        // length leaks through timing.
        if bool::from(
            hash_secret(presented)
                .as_bytes()
                .ct_eq(hash_secret(expected).as_bytes()),
        ) {
            return Ok(());
        }
    }
    if bearer.is_some_and(|token| !token.starts_with(KeyFamily::Panel.prefix())) {
        return Err(Error::Unauthorized("wrong metrics token".into()));
    }
    match principal::resolve(app, headers).await? {
        Some(caller) if caller.is_admin() && caller.has("monitoring:view") => Ok(()),
        Some(_) => Err(Error::Forbidden(
            "metrics are for administrators and the metrics token".into(),
        )),
        None => Err(Error::Unauthorized(
            "log in as an administrator or send the metrics token".into(),
        )),
    }
}

async fn export(State(metrics): State<Metrics>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&metrics.inner.app, &headers).await {
        return e.into_response();
    }
    metrics.sample().await;
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &metrics.inner.registry) {
        Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics: encoding failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Keeps the in-flight gauge right even when a request is abandoned midway.
struct InFlight(Gauge);

impl InFlight {
    fn start(gauge: &Gauge) -> InFlight {
        gauge.inc();
        InFlight(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Middleware: counts and times every request under its route template.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let method = method_label(request.method()).to_owned();
    let started = Instant::now();
    let in_flight = InFlight::start(&metrics.inner.in_flight);
    let response = next.run(request).await;
    drop(in_flight);
    let labels = RouteLabels { method, route };
    metrics
        .inner
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    metrics
        .inner
        .requests
        .get_or_create(&RequestLabels {
            method: labels.method,
            route: labels.route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// Standard methods by name; anything else is one label, so clients cannot mint series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
