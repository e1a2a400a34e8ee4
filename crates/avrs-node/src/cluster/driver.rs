//! The gossip socket and its timers: moves datagrams between UDP and the
//! sans-IO membership, admits members (host) or asks to be admitted
//! (others), and publishes this node's state when it changes.

use super::admission::{self, Verdict};
use super::advert::Advertiser;
use super::autoscale::{self, AutoscaleOptions};
use super::roster::{Approvals, JoinOutcome};
use super::wire::{self, JoinRequest, KIND_GOSSIP, KIND_JOIN, KIND_ROSTER, RosterEntry};
use super::{Cluster, ClusterOptions, SocketAddrs, control, lock, relay};
use crate::context::NodeContext;
use avrs_auth::AuditEvent;
use avrs_cluster::{
    AuthMode, Balancer, ClusterConfig, GossipAuth, MemberId, Membership, MembershipEvent, PeerAddr,
};
use avrs_crypto::SigningKey;
use avrs_proto::Hash32;
use avrs_proto::avrs::Roles;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

mod removals;

/// Largest datagram read (a roster of many ML-DSA keys is the biggest).
const MAX_DATAGRAM: usize = 65_535;
/// How often a member not yet admitted asks again, and how often the host
/// re-sends the roster to everyone (a lost datagram is then repaired).
const JOIN_EVERY: Duration = Duration::from_millis(300);
const ROSTER_EVERY: Duration = Duration::from_secs(3);
/// Housekeeping tick: state publication, join retries.
const TICK: Duration = Duration::from_millis(100);
/// A JOIN or ROSTER older or newer than this is refused (replays).
const MAX_SKEW_SECS: u64 = 300;

pub(super) async fn start(
    context: Arc<NodeContext>,
    options: ClusterOptions,
    key: Arc<SigningKey>,
    addrs: SocketAddrs,
    shutdown: CancellationToken,
) -> anyhow::Result<(Arc<Cluster>, tokio::task::JoinHandle<()>)> {
    let socket = UdpSocket::bind(options.gossip_address).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen for gossip on {}: {e}",
            options.gossip_address
        )
    })?;
    let bound = socket.local_addr()?;
    let ip = options.advertise_ip.unwrap_or(match bound.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    });
    let me = MemberId {
        key: key.id(),
        addr: peer_addr(SocketAddr::new(ip, bound.port())),
        // A restarted node must win over its earlier, down identity.
        incarnation: unix_secs() as u32,
    };
    let config = ClusterConfig {
        heartbeat_interval: options.heartbeat_interval,
        reconnect_timeout: options.reconnect_timeout,
        autoscale_threshold_permille: options.autoscale.threshold_permille,
        origin_child_cap: options.origin_child_cap,
        relay_child_cap: options.relay_child_cap,
        ..ClusterConfig::default()
    };
    check_own_certificate(options.certificate.as_deref(), &key)?;
    let store = options
        .state_dir
        .as_ref()
        .filter(|_| options.host_gossip.is_none())
        .map(|dir| dir.join("members"));
    let approvals = Approvals::load(options.members_file.as_deref(), store)?;
    let is_host = options.host_gossip.is_none();
    let deployment = is_host.then(|| control::Deployment {
        id: control::deployment_id(&options.cluster_name),
        owner: key.id(),
        title: &options.cluster_name,
    });
    let keeper = control::Keeper::load(options.roles, options.book_file.as_deref(), deployment)?;
    let advertiser = Advertiser::new(&options, ip, addrs, config.clone());
    let mut initial = advertiser.state(&context, None);
    initial.member = me.key;
    // Versions must grow across restarts, or members that still hold the
    // old states would take the new ones for stale: start from the clock
    // (a state is published far less often than once per millisecond).
    initial.version = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let auth = GossipAuth::new(AuthMode::Signed(key.duplicate()?));
    let membership = Membership::new(
        me,
        initial,
        config.clone(),
        auth,
        u64::from(me.incarnation),
        64,
    )?;
    let cluster = Arc::new(Cluster {
        me: me.key,
        roles: options.roles,
        region: options.region,
        gossip_address: SocketAddr::new(ip, bound.port()),
        config: config.clone(),
        view: Mutex::new(membership.view().clone()),
        balancer: Mutex::new(Balancer::new(
            config.autoscale_threshold_permille,
            Duration::from_secs(60),
        )),
        stats: Mutex::new(membership.stats()),
        approvals: Mutex::new(approvals),
        host: Mutex::new(if is_host {
            Some(me.key)
        } else {
            options.host_id
        }),
        keeper,
        relays: relay::Relays::default(),
        routes: Arc::new(super::routes::Routes::new(me.key, &config)),
        key: key.clone(),
        shutdown: shutdown.clone(),
    });
    let revocation_changes = context.authorizer.changes();
    let driver = Driver {
        revocation_changes,
        revocations_seen: None,
        socket,
        membership,
        cluster: cluster.clone(),
        context,
        key,
        me,
        cluster_hash: avrs_crypto::sha3_256(options.cluster_name.as_bytes()),
        host_gossip: options.host_gossip,
        host_id: options.host_id,
        admitted: options.host_gossip.is_none(),
        advertiser,
        started: Instant::now(),
        last_join: None,
        last_roster: None,
        certificate: options.certificate.clone(),
        autoscale: options.autoscale.clone(),
        cluster_name: options.cluster_name.clone(),
        last_autoscale_check: None,
        last_roster_unix: 0,
    };
    let task = tokio::spawn(driver.run(shutdown));
    control::book_sync::spawn_puller(&cluster);
    Ok((cluster, task))
}

/// A node that presents a certificate for another key, or one that is not
/// valid now, is told at start rather than left waiting on the host.
fn check_own_certificate(certificate: Option<&[u8]>, key: &SigningKey) -> anyhow::Result<()> {
    let Some(bytes) = certificate else {
        return Ok(());
    };
    let chain = avrs_auth::cert::CertificateChain::from_bytes(bytes)
        .map_err(|e| anyhow::anyhow!("certificate_file: {e}"))?;
    let cert = chain.leaf();
    anyhow::ensure!(
        cert.member_id() == key.id(),
        "certificate_file is for member {}, but this node's key is {}",
        cert.member_id().to_hex(),
        key.id().to_hex()
    );
    let now = unix_secs();
    // The leaf, or its issuer's certificate when the file is a chain.
    let stale = |c: &&avrs_auth::MemberCertificate| now < c.not_before || now >= c.not_after;
    if let Some(stale) = chain.certificates().iter().find(stale) {
        tracing::warn!(
            member = %stale.member_id().to_hex(),
            not_before = stale.not_before,
            not_after = stale.not_after,
            "cluster: certificate_file is not valid now; the host will not admit by it"
        );
    }
    Ok(())
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn peer_addr(addr: SocketAddr) -> PeerAddr {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    PeerAddr {
        ip: ip.octets(),
        port: addr.port(),
    }
}

fn socket_addr(addr: PeerAddr) -> SocketAddr {
    let ip = std::net::Ipv6Addr::from(addr.ip);
    match ip.to_ipv4_mapped() {
        Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port),
        None => SocketAddr::new(IpAddr::V6(ip), addr.port),
    }
}

struct Driver {
    socket: UdpSocket,
    membership: Membership,
    cluster: Arc<Cluster>,
    context: Arc<NodeContext>,
    key: Arc<SigningKey>,
    me: MemberId,
    cluster_hash: Hash32,
    host_gossip: Option<SocketAddr>,
    host_id: Option<Hash32>,
    /// The host let us in (always true on the host).
    admitted: bool,
    advertiser: Advertiser,
    started: Instant,
    last_join: Option<Instant>,
    last_roster: Option<Instant>,
    /// Sent with every JOIN (member certificate, binary).
    certificate: Option<Vec<u8>>,
    autoscale: AutoscaleOptions,
    cluster_name: String,
    last_autoscale_check: Option<Instant>,
    /// The newest roster's time (member): removals follow it only.
    last_roster_unix: u64,
    /// Host: fires when the revocation list changes; the roster is then
    /// matched against it again.
    revocation_changes: tokio::sync::watch::Receiver<u64>,
    /// The revocation list's version the roster was last matched against.
    revocations_seen: Option<u64>,
}

impl Driver {
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    async fn run(mut self, shutdown: CancellationToken) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let due = self.membership.poll_timeout();
            let sleep = due.map(|at| self.started + at);
            tokio::select! {
                _ = shutdown.cancelled() => {
                    let _ = self.membership.leave(self.now());
                    self.flush().await;
                    return;
                }
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((len, from)) => self.on_datagram(&buf[..len], from).await,
                    Err(err) => tracing::debug!(%err, "cluster: gossip receive failed"),
                },
                _ = sleep_until(sleep), if sleep.is_some() => {
                    self.membership.handle_timeout(self.now());
                }
                _ = tick.tick() => self.on_tick().await,
            }
            self.flush().await;
        }
    }

    async fn on_datagram(&mut self, datagram: &[u8], from: SocketAddr) {
        let Some((&kind, body)) = datagram.split_first() else {
            return;
        };
        match kind {
            KIND_GOSSIP => {
                // Refused datagrams (unknown or forged senders) change nothing.
                if let Err(err) = self.membership.handle_datagram(body, self.now()) {
                    tracing::trace!(%err, %from, "cluster: gossip refused");
                }
            }
            KIND_JOIN if self.host_gossip.is_none() => self.on_join(body, from).await,
            KIND_ROSTER if self.host_gossip.is_some() => self.on_roster(body, from),
            _ => {}
        }
    }

    fn fresh(&self, unix: u64, cluster: Hash32) -> bool {
        cluster == self.cluster_hash && unix.abs_diff(unix_secs()) <= MAX_SKEW_SECS
    }

    /// Host: admit an approved member, or keep its request for an operator.
    async fn on_join(&mut self, body: &[u8], from: SocketAddr) {
        let join: JoinRequest = match wire::decode_join(body) {
            Ok(join) if self.fresh(join.unix_secs, join.cluster) => join,
            Ok(_) => return,
            Err(err) => {
                tracing::debug!(%err, %from, "cluster: join refused");
                return;
            }
        };
        if self.id_revoked(&join.member.key) {
            let member = join.member.key.to_hex();
            tracing::debug!(%member, %from, "cluster: join of a revoked member ignored");
            return;
        }
        let verdict = self.certificate_verdict(&join);
        let certified = match &verdict {
            Some(Verdict::Admits(chain)) => Some(chain.as_slice()),
            _ => None,
        };
        let outcome = lock(&self.cluster.approvals).on_join(&join, certified);
        self.report_join(&join, from, outcome, verdict);
        if let JoinOutcome::Approved { .. } = outcome {
            self.send_roster(Some(socket_addr(join.member.addr))).await;
        }
    }

    /// Logs (and audits, when a certificate decided) a join's first answer;
    /// resends of the same request stay quiet.
    fn report_join(
        &self,
        join: &JoinRequest,
        from: SocketAddr,
        outcome: JoinOutcome,
        verdict: Option<Verdict>,
    ) {
        let id = join.member.key.to_hex();
        match (outcome, verdict) {
            (JoinOutcome::Approved { new: true }, Some(Verdict::Admits(chain))) => {
                let certificate = match chain.as_slice() {
                    [leaf, issuer, ..] => {
                        format!("certificate {} issued by {}", leaf.serial, issuer.member)
                    }
                    [leaf] => format!("certificate {}", leaf.serial),
                    [] => "certificate".to_owned(),
                };
                tracing::info!(
                    member = %id, roles = %join.roles, %certificate,
                    "cluster: member admitted by its certificate"
                );
                self.audit_join(join, from, "allow", certificate);
            }
            (JoinOutcome::Pending { new: true }, verdict) => {
                if let Some(Verdict::Refused(why)) = verdict {
                    tracing::warn!(member = %id, %why, "cluster: join certificate refused");
                    self.audit_join(join, from, "deny", format!("certificate: {why}"));
                }
                tracing::info!(
                    member = %id, roles = %join.roles,
                    "cluster: join request waiting: avrs cluster approve {id}"
                );
            }
            _ => {}
        }
    }

    /// The join's certificate checked, unless the member needs none.
    fn certificate_verdict(&self, join: &JoinRequest) -> Option<Verdict> {
        if lock(&self.cluster.approvals).admits(&join.member.key) {
            return None;
        }
        let authorizer = &self.context.authorizer;
        admission::check(authorizer, join, self.key.public_key(), unix_secs())
    }

    fn audit_join(&self, join: &JoinRequest, from: SocketAddr, result: &'static str, why: String) {
        self.context.authorizer.audit(AuditEvent {
            event: "cluster_join",
            subject: Some(join.member.key.to_hex()),
            peer: Some(from.to_string()),
            action: Some("MEMBER_REQUEST_ADD".into()),
            result,
            reason: Some(why),
            ..AuditEvent::default()
        });
    }

    /// Member: the host's roster gives every approved key; the first one
    /// lets us join.
    fn on_roster(&mut self, body: &[u8], from: SocketAddr) {
        let roster = match wire::decode_roster(body) {
            Ok(roster) if self.fresh(roster.unix_secs, roster.cluster) => roster,
            _ => return,
        };
        let signer = roster.signer.id();
        match self.host_id {
            Some(host) if host != signer => return,
            Some(_) => {}
            None if Some(from) == self.host_gossip => {
                self.host_id = Some(signer);
                *lock(&self.cluster.host) = Some(signer);
            }
            None => return,
        }
        let revoked_here = self.revoked_here(&roster.entries, signer);
        let auth = self.membership.auth_mut();
        for entry in &roster.entries {
            if !revoked_here.contains(&entry.member.key) {
                auth.approve(entry.key.clone());
            }
        }
        // A roster older than one already seen may lack a newer member.
        if roster.unix_secs >= self.last_roster_unix {
            self.last_roster_unix = roster.unix_secs;
            self.forget_removed(&roster.entries, &revoked_here);
        }
        if !roster.entries.iter().any(|e| e.member.key == self.me.key) {
            return;
        }
        if !self.admitted {
            self.admitted = true;
            let seeds: Vec<MemberId> = roster
                .entries
                .iter()
                .filter(|e| e.member.key == signer)
                .map(|e| e.member)
                .collect();
            tracing::info!("cluster: admitted by the host; joining");
            if let Err(err) = self.membership.join(&seeds, self.now()) {
                tracing::warn!(%err, "cluster: cannot join");
            }
        }
    }

    async fn on_tick(&mut self) {
        let now = Instant::now();
        if !self.admitted
            && let Some(host) = self.host_gossip
            && self.last_join.is_none_or(|t| now - t >= JOIN_EVERY)
        {
            self.last_join = Some(now);
            let join = JoinRequest {
                cluster: self.cluster_hash,
                unix_secs: unix_secs(),
                roles: self.cluster.roles,
                member: self.me,
                key: self.key.public_key().clone(),
                certificate: self.certificate.clone(),
            };
            if let Ok(bytes) = wire::encode_join(&join, &self.key) {
                let _ = self.socket.send_to(&bytes, host).await;
            }
        }
        if self.host_gossip.is_none() {
            self.remove_revoked();
            self.cut_off_removed();
            let changed = std::mem::take(&mut lock(&self.cluster.approvals).changed);
            if changed || self.last_roster.is_none_or(|t| now - t >= ROSTER_EVERY) {
                self.last_roster = Some(now);
                self.approve_all();
                self.send_roster(None).await;
            }
        }
        let view = self.membership.view().clone();
        self.check_autoscale(&view, now);
        // Keyed once per heartbeat, not once per route entry.
        let live: std::collections::HashSet<_> = self
            .context
            .registry
            .list()
            .iter()
            .filter(|c| !c.is_ended())
            .map(|c| super::content_key(c.name()))
            .collect();
        self.cluster.routes.prune_origins(|key| live.contains(&key));
        let state = self
            .advertiser
            .state(&self.context, Some((&view, &self.cluster)));
        if self
            .advertiser
            .should_publish(&state, self.membership.own_state(), now)
        {
            let _ = self.membership.publish(state, self.now());
        }
    }

    /// Balancer, once a heartbeat: fires the auto-scale signal when the
    /// live servers are busy (the balancer paces it to once a minute).
    fn check_autoscale(&mut self, view: &avrs_cluster::ClusterView, now: Instant) {
        if !self.cluster.roles.contains(Roles::BALANCER)
            || self
                .last_autoscale_check
                .is_some_and(|t| now - t < self.cluster.config.heartbeat_interval)
        {
            return;
        }
        self.last_autoscale_check = Some(now);
        let Some(scale) = lock(&self.cluster.balancer).check_autoscale(view, self.now()) else {
            return;
        };
        let signal = autoscale::Signal {
            cluster: self.cluster_name.clone(),
            member: self.me.key,
            threshold_permille: self.autoscale.threshold_permille,
            scale,
        };
        autoscale::fire(&self.autoscale, &signal, &self.context.authorizer);
    }

    /// Host: everyone approved may gossip with us.
    fn approve_all(&mut self) {
        let keys: Vec<_> = lock(&self.cluster.approvals)
            .approved
            .values()
            .map(|e| e.key.clone())
            .collect();
        let auth = self.membership.auth_mut();
        for key in keys {
            auth.approve(key);
        }
    }

    /// Host: the roster to one member, or to every approved member.
    async fn send_roster(&mut self, to: Option<SocketAddr>) {
        self.approve_all();
        let mut entries: Vec<RosterEntry> = lock(&self.cluster.approvals)
            .approved
            .values()
            .take(wire::MAX_ROSTER - 1)
            .cloned()
            .collect();
        entries.push(RosterEntry {
            key: self.key.public_key().clone(),
            member: *self.membership.id(),
        });
        let Ok(bytes) = wire::encode_roster(self.cluster_hash, unix_secs(), &entries, &self.key)
        else {
            return;
        };
        let targets: Vec<SocketAddr> = match to {
            Some(addr) => vec![addr],
            None => entries
                .iter()
                .filter(|e| e.member.key != self.me.key)
                .map(|e| socket_addr(e.member.addr))
                .collect(),
        };
        for target in targets {
            let _ = self.socket.send_to(&bytes, target).await;
        }
    }

    /// Sends what the membership wants sent and shares its view.
    async fn flush(&mut self) {
        while let Some(transmit) = self.membership.poll_transmit() {
            let mut datagram = Vec::with_capacity(1 + transmit.datagram.len());
            datagram.push(KIND_GOSSIP);
            datagram.extend_from_slice(&transmit.datagram);
            let _ = self
                .socket
                .send_to(&datagram, socket_addr(transmit.to.addr))
                .await;
        }
        while let Some(event) = self.membership.poll_event() {
            match event {
                MembershipEvent::MemberUp(id) => {
                    tracing::info!(member = %id.key.to_hex(), "cluster: member up")
                }
                MembershipEvent::MemberDown(id) => {
                    tracing::info!(member = %id.key.to_hex(), "cluster: member down");
                    self.cluster.routes.member_down(id.key);
                }
                _ => {}
            }
        }
        self.cluster
            .set_view(self.membership.view().clone(), self.membership.stats());
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
