//! The host's record of who may be a member: ids approved ahead of time
//! (the `members_file`), members approved with their keys (persisted under
//! `DATA_DIR/cluster/members`, whether approved by file, operator or
//! certificate), join requests waiting for `avrs cluster approve ID`, each
//! member's roles in the roster (asked for in its join, or assigned), and
//! the members removed (`DATA_DIR/cluster/removed`: not admitted again by
//! the members file or a certificate, only by a new approval). A member
//! admitted by a certificate is kept with the certificates of its path, so
//! that revoking any of them removes it ([`revocation`]).

use super::wire::{JoinRequest, RosterEntry};
use avrs_auth::revocation::CertLink;
use avrs_cluster::{MemberId, PeerAddr};
use avrs_crypto::{Algorithm, PublicKey};
use avrs_proto::Hash32;
use avrs_proto::avrs::Roles;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Join requests kept waiting for an operator, at most.
const MAX_PENDING: usize = 256;
/// Removed members remembered, at most.
const MAX_REMOVED: usize = 4096;

mod revocation;

/// A member taken out of the roster, for the driver to cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub member: Hash32,
    /// What was revoked (`certificate …`, `issuer certificate …`,
    /// `member …`) when a revocation removed it; `None`: MEMBER_REMOVE.
    pub revoked: Option<String>,
}

#[derive(Debug, Default)]
pub struct Approvals {
    /// Ids whose join is approved when it arrives.
    preapproved: BTreeSet<Hash32>,
    pub approved: BTreeMap<Hash32, RosterEntry>,
    pub pending: BTreeMap<Hash32, RosterEntry>,
    /// Roles of approved members and wishes of waiting ones.
    roles: BTreeMap<Hash32, Roles>,
    /// Removed members: a new approval only lets them in again.
    removed: BTreeSet<Hash32>,
    /// Members admitted by a certificate: the certificates of its path,
    /// leaf first. Revoking any of them removes the member.
    certified: BTreeMap<Hash32, Vec<CertLink>>,
    /// Removed since the driver last looked: their gossip is to be refused.
    removals: Vec<Removal>,
    /// Where approved members are kept across restarts (host only).
    store: Option<PathBuf>,
    /// The approved set changed since the roster was last sent.
    pub changed: bool,
}

/// What happened to a join request. `new`: the first time this member
/// (this key, address and incarnation) got this answer, so the driver logs
/// once per request, not at every resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    Approved { new: bool },
    Pending { new: bool },
}

impl Approvals {
    /// Reads the members file (one id in hex per line, `#` comments) and the
    /// persisted approvals. A missing store is an empty one.
    pub fn load(members_file: Option<&Path>, store: Option<PathBuf>) -> anyhow::Result<Self> {
        let mut approvals = Self {
            store,
            ..Self::default()
        };
        if let Some(path) = members_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("members_file {}: {e}", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                let id = Hash32::from_hex(line).map_err(|_| {
                    anyhow::anyhow!("members_file {}:{}: not a member id", path.display(), n + 1)
                })?;
                approvals.preapproved.insert(id);
            }
        }
        if let Some(path) = &approvals.store
            && let Ok(text) = std::fs::read_to_string(path)
        {
            for line in text.lines() {
                if let Some(Stored {
                    entry,
                    roles,
                    chain,
                }) = parse_entry(line)
                {
                    let id = entry.member.key;
                    if let Some(roles) = roles {
                        approvals.roles.insert(id, roles);
                    }
                    if let Some(chain) = chain {
                        approvals.certified.insert(id, chain);
                    }
                    approvals.approved.insert(id, entry);
                }
            }
        }
        if let Some(path) = approvals.removed_file()
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            let ids = text.lines().filter_map(|l| Hash32::from_hex(l.trim()).ok());
            approvals.removed = ids.take(MAX_REMOVED).collect();
        }
        for id in &approvals.removed {
            approvals.preapproved.remove(id);
        }
        Ok(approvals)
    }

    fn removed_file(&self) -> Option<PathBuf> {
        self.store
            .as_ref()
            .map(|path| path.with_file_name("removed"))
    }

    /// The roles an approved member holds in the roster (those its join
    /// asked for, or those assigned since); `None` for a non-member.
    pub fn roster_roles(&self, id: &Hash32) -> Option<Roles> {
        self.approved
            .contains_key(id)
            .then(|| self.roles.get(id).copied().unwrap_or(Roles::CLIENT))
    }

    /// The roles a waiting request asks for.
    pub fn wished_roles(&self, id: &Hash32) -> Roles {
        self.roles.get(id).copied().unwrap_or(Roles::CLIENT)
    }

    /// MEMBER_ROLE_ASSIGN on the deployment's cluster.
    pub fn assign(&mut self, id: Hash32, roles: Roles) -> bool {
        if !self.approved.contains_key(&id) {
            return false;
        }
        self.roles.insert(id, roles);
        self.save();
        true
    }

    /// MEMBER_REMOVE (or a member leaving): out of the roster, its request
    /// and its advance approval dropped, its gossip refused from now on,
    /// and not admitted again without a new approval.
    pub fn remove(&mut self, id: Hash32) -> bool {
        self.take_out(id, None)
    }

    /// [`Self::remove`], saying why: `revoked` names what a revocation
    /// revoked.
    fn take_out(&mut self, id: Hash32, revoked: Option<String>) -> bool {
        let was = self.approved.remove(&id).is_some() | self.pending.remove(&id).is_some();
        self.preapproved.remove(&id);
        self.roles.remove(&id);
        self.certified.remove(&id);
        if self.removed.len() < MAX_REMOVED {
            self.removed.insert(id);
        } else {
            tracing::warn!(member = %id.to_hex(), "cluster: too many removed members to remember this one");
        }
        self.removals.push(Removal {
            member: id,
            revoked,
        });
        self.changed = true;
        self.save();
        was
    }

    /// Members removed since the last call, for the driver to cut off.
    pub fn take_removals(&mut self) -> Vec<Removal> {
        std::mem::take(&mut self.removals)
    }

    /// Whether a join from `id` is approved without more ado (file,
    /// earlier approval, or `approve`).
    pub fn admits(&self, id: &Hash32) -> bool {
        self.preapproved.contains(id) || self.approved.contains_key(id)
    }

    /// Records a join request; approved when [`Self::admits`] its id or
    /// when `certified` (its certificate checked out: the path it rests
    /// on, leaf first, kept with the member).
    pub fn on_join(&mut self, join: &JoinRequest, certified: Option<&[CertLink]>) -> JoinOutcome {
        let id = join.member.key;
        let entry = RosterEntry {
            key: join.key.clone(),
            member: join.member,
        };
        // A removed member's certificate does not let it back in.
        let certified = certified.filter(|_| !self.removed.contains(&id));
        if self.admits(&id) || certified.is_some() {
            let mut new = self.approved.get(&id) != Some(&entry);
            // Roles assigned since the first join stay.
            self.roles.entry(id).or_insert(join.roles);
            if let Some(chain) = certified {
                let chain: Vec<CertLink> = chain.iter().take(MAX_CHAIN).cloned().collect();
                new |= self.certified.insert(id, chain.clone()) != Some(chain);
            }
            if new {
                self.pending.remove(&id);
                self.approved.insert(id, entry);
                self.changed = true;
                self.save();
            }
            return JoinOutcome::Approved { new };
        }
        // `new` only when kept: a full list drops the request quietly.
        let kept = self.pending.len() < MAX_PENDING || self.pending.contains_key(&id);
        let new = self.pending.get(&id) != Some(&entry) && kept;
        if new {
            self.pending.insert(id, entry);
        }
        if kept {
            self.roles.insert(id, join.roles);
        }
        JoinOutcome::Pending { new }
    }

    /// MEMBER_REQUEST_APPROVE: a waiting request is approved at once; an
    /// unknown id is approved for when it asks.
    pub fn approve(&mut self, id: Hash32) -> bool {
        self.preapproved.insert(id);
        if self.removed.remove(&id) {
            self.save();
        }
        match self.pending.remove(&id) {
            Some(entry) => {
                self.approved.insert(id, entry);
                self.changed = true;
                self.save();
                true
            }
            None => false,
        }
    }

    fn save(&self) {
        let Some(path) = &self.store else {
            return;
        };
        let text: String = self
            .approved
            .values()
            .map(|e| {
                let id = &e.member.key;
                let chain = self.certified.get(id).map(Vec::as_slice);
                format_entry(e, self.roles.get(id).copied(), chain)
            })
            .collect();
        if let Err(err) = write_atomically(path, text.as_bytes()) {
            tracing::error!(%err, path = %path.display(), "cluster: cannot save the members");
        }
        let Some(path) = self.removed_file() else {
            return;
        };
        let text: String = self.removed.iter().map(|id| id.to_hex() + "\n").collect();
        if let Err(err) = write_atomically(&path, text.as_bytes()) {
            tracing::error!(%err, path = %path.display(), "cluster: cannot save the removed members");
        }
    }
}

/// Certificates kept per certified member, at most (a chain's bound).
const MAX_CHAIN: usize = avrs_auth::cert::MAX_CHAIN;
/// The store's word before a certified member's path.
const CHAIN_WORD: &str = "chain=";

/// One line of the members store, read back.
struct Stored {
    entry: RosterEntry,
    roles: Option<Roles>,
    chain: Option<Vec<CertLink>>,
}

/// `ID ALGORITHM KEY [IP]:PORT INCARNATION [ROLE_MASK] [chain=SERIAL:MEMBER,…]`:
/// the role mask and the chain came later, so a line without them still
/// reads (and older readers ignore the chain).
fn format_entry(e: &RosterEntry, roles: Option<Roles>, chain: Option<&[CertLink]>) -> String {
    let ip = std::net::Ipv6Addr::from(e.member.addr.ip);
    let roles = roles.map_or(String::new(), |r| format!(" {:#06x}", r.mask()));
    let chain = chain.map_or(String::new(), |links| {
        let links: Vec<String> = links.iter().map(ToString::to_string).collect();
        format!(" {CHAIN_WORD}{}", links.join(","))
    });
    format!(
        "{} {} {} [{ip}]:{} {}{roles}{chain}\n",
        e.member.key.to_hex(),
        e.key.algorithm().sign_type_code(),
        hex(e.key.as_bytes()),
        e.member.addr.port,
        e.member.incarnation,
    )
}

/// A line of the store; `None` when any part of it is unreadable (a
/// certified member whose chain cannot be read must show its certificate
/// again rather than stay without one).
fn parse_entry(line: &str) -> Option<Stored> {
    let mut words = line.split_whitespace();
    let id = Hash32::from_hex(words.next()?).ok()?;
    let algorithm = Algorithm::from_sign_type_code(words.next()?.parse().ok()?).ok()?;
    let key = PublicKey::from_bytes(algorithm, &unhex(words.next()?)?).ok()?;
    let addr: std::net::SocketAddrV6 = words.next()?.parse().ok()?;
    let incarnation = words.next()?.parse().ok()?;
    let (mut roles, mut chain) = (None, None);
    for word in words {
        match word.strip_prefix(CHAIN_WORD) {
            Some(links) => chain = Some(parse_chain(links)?),
            None => roles = Roles::parse(word).ok(),
        }
    }
    let entry = RosterEntry {
        key,
        member: MemberId {
            key: id,
            addr: PeerAddr {
                ip: addr.ip().octets(),
                port: addr.port(),
            },
            incarnation,
        },
    };
    (entry.key.id() == id).then_some(Stored {
        entry,
        roles,
        chain,
    })
}

fn parse_chain(text: &str) -> Option<Vec<CertLink>> {
    let links: Vec<&str> = text.split(',').take(MAX_CHAIN + 1).collect();
    if links.is_empty() || links.len() > MAX_CHAIN {
        return None;
    }
    links.into_iter().map(|l| l.parse().ok()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 16_384 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Writes `path` through a temporary file and a rename, so a crash leaves
/// the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use avrs_crypto::SigningKey;
    use avrs_proto::avrs::Roles;

    pub(super) fn join(n: u8) -> JoinRequest {
        let k = SigningKey::from_seed(Algorithm::Ed25519, &[n; 32]).unwrap();
        JoinRequest {
            cluster: Hash32::default(),
            unix_secs: 0,
            roles: Roles::SERVER,
            member: MemberId {
                key: k.id(),
                addr: PeerAddr {
                    ip: std::net::Ipv4Addr::LOCALHOST.to_ipv6_mapped().octets(),
                    port: 9,
                },
                incarnation: 3,
            },
            key: k.public_key().clone(),
            certificate: None,
        }
    }

    /// A certificate's place on a path: serial and member id from seeds.
    pub(super) fn certificate(serial: u8, member: u8) -> CertLink {
        CertLink {
            serial: hex(&[serial; 16]),
            member: hex(&[member; 32]),
        }
    }

    #[test]
    fn file_preapproves_cli_approves_and_store_survives() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("members");
        let (a, b) = (join(1), join(2));
        std::fs::write(&list, format!("# servers\n{}\n", a.member.key.to_hex())).unwrap();
        let store = dir.path().join("cluster/members");
        let mut approvals = Approvals::load(Some(&list), Some(store.clone())).unwrap();
        assert_eq!(
            approvals.on_join(&a, None),
            JoinOutcome::Approved { new: true }
        );
        assert_eq!(
            approvals.on_join(&a, None),
            JoinOutcome::Approved { new: false }
        );
        assert_eq!(
            approvals.on_join(&b, None),
            JoinOutcome::Pending { new: true }
        );
        assert_eq!(
            approvals.on_join(&b, None),
            JoinOutcome::Pending { new: false }
        );
        assert!(approvals.approve(b.member.key));
        // A certified member is approved at once, and kept like the others.
        let c = join(3);
        let chain = [certificate(4, 3), certificate(5, 6)];
        assert_eq!(
            approvals.on_join(&c, Some(&chain)),
            JoinOutcome::Approved { new: true }
        );
        let again = Approvals::load(None, Some(store.clone())).unwrap();
        assert_eq!(again.approved.len(), 3);
        assert_eq!(again.approved[&b.member.key].member, b.member);
        assert!(again.admits(&c.member.key));
        assert_eq!(again.certified[&c.member.key], chain, "kept with its path");
        assert!(!again.certified.contains_key(&b.member.key));
        assert_eq!(again.roster_roles(&b.member.key), Some(Roles::SERVER));
        // A line of an older store (no role mask, no chain) still reads.
        let old = format_entry(&again.approved[&a.member.key], None, None);
        assert!(parse_entry(&old).is_some_and(|s| s.roles.is_none() && s.chain.is_none()));
        // A chain that cannot be read drops the line: the member shows its
        // certificate again.
        let line = format_entry(&again.approved[&c.member.key], None, Some(&chain));
        assert!(parse_entry(&line).is_some_and(|s| s.chain.as_deref() == Some(&chain[..])));
        for bad in ["chain=", "chain=zz:00", "chain=a,b,c,d"] {
            let line = line.replace(&format!("{CHAIN_WORD}{}", chain[0]), bad);
            assert!(parse_entry(&line).is_none(), "{line}");
        }
        std::fs::write(&list, "not-hex\n").unwrap();
        assert!(Approvals::load(Some(&list), None).is_err());
    }

    #[test]
    fn removed_members_stay_out_until_approved_again() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("members");
        let a = join(1);
        std::fs::write(&list, format!("{}\n", a.member.key.to_hex())).unwrap();
        let store = dir.path().join("cluster/members");
        let mut approvals = Approvals::load(Some(&list), Some(store.clone())).unwrap();
        assert!(matches!(
            approvals.on_join(&a, None),
            JoinOutcome::Approved { .. }
        ));
        assert!(approvals.assign(a.member.key, Roles::SERVER | Roles::OPERATOR));
        assert!(approvals.remove(a.member.key));
        let removal = Removal {
            member: a.member.key,
            revoked: None,
        };
        assert_eq!(approvals.take_removals(), vec![removal]);
        assert!(approvals.take_removals().is_empty());
        assert_eq!(approvals.roster_roles(&a.member.key), None);
        // Neither the members file (after a restart) nor a certificate
        // lets it back in.
        let mut approvals = Approvals::load(Some(&list), Some(store.clone())).unwrap();
        assert!(!approvals.admits(&a.member.key));
        assert!(matches!(
            approvals.on_join(&a, Some(&[certificate(1, 1)])),
            JoinOutcome::Pending { .. }
        ));
        assert_eq!(approvals.wished_roles(&a.member.key), Roles::SERVER);
        // A new approval does.
        assert!(approvals.approve(a.member.key));
        let approvals = Approvals::load(Some(&list), Some(store)).unwrap();
        assert!(approvals.admits(&a.member.key));
    }
}
