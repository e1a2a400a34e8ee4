//! The one error enum of the cluster core.

use avrs_proto::Hash32;
use avrs_proto::avrs::RetCode;

/// What went wrong in the cluster core. Every variant maps to a wire
/// return code ([`ClusterError::retcode`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// A gossip datagram or a state item is cut short or malformed.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A size cap was exceeded before anything was allocated.
    #[error("{what} too large: {actual} > {max}")]
    TooLarge {
        what: &'static str,
        max: usize,
        actual: usize,
    },
    /// The sender is not an approved member of the cluster.
    #[error("sender {0} is not an approved member")]
    NotApproved(Hash32),
    /// The signature does not verify over the datagram.
    #[error("bad signature from {0}")]
    BadSignature(Hash32),
    /// The gossip header claims another member than the signer.
    #[error("gossip header names {claimed}, signed by {signer}")]
    SenderMismatch { claimed: Hash32, signer: Hash32 },
    /// No live node holds the content (ROUTE_FIND found nothing).
    #[error("no route to the content")]
    NoRoute,
    /// The node asked to relay is not attached to the content itself.
    #[error("relay is not attached to the content")]
    NotAttached,
    /// Granting this route would make a loop.
    #[error("route would loop through {0}")]
    RouteLoop(Hash32),
    /// The relay already feeds as many children as its cap allows.
    #[error("relay full: {children} children")]
    RelayFull { children: usize },
    /// The tree would be deeper than the configured maximum.
    #[error("relay depth {0} over the limit")]
    TooDeep(usize),
    /// The membership library refused an operation.
    #[error("membership: {0}")]
    Membership(String),
    /// The signing provider failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// A cluster book file that cannot be believed (see `control`).
    #[error("cluster book: {0}")]
    BookCorrupt(String),
    /// A BOOK_SYNC_RESPONSE signed by someone else than the host.
    #[error("book sync: signed by {signer}, not by the host {host}")]
    NotTheHost { signer: Hash32, host: Hash32 },
    /// A BOOK_SYNC transfer that cannot be believed or kept.
    #[error("book sync: {0}")]
    BookSync(&'static str),
}

impl ClusterError {
    /// The return code a node answers with.
    pub fn retcode(&self) -> RetCode {
        match self {
            ClusterError::Malformed(_) | ClusterError::TooLarge { .. } => RetCode::ArgIncorrect,
            ClusterError::NotApproved(_)
            | ClusterError::SenderMismatch { .. }
            | ClusterError::NotTheHost { .. } => RetCode::SignAlien,
            ClusterError::BadSignature(_) => RetCode::SignIncorrect,
            ClusterError::NoRoute => RetCode::ContentNotFound,
            ClusterError::NotAttached
            | ClusterError::RouteLoop(_)
            | ClusterError::RelayFull { .. }
            | ClusterError::TooDeep(_) => RetCode::ContentUnavailable,
            ClusterError::Membership(_)
            | ClusterError::Crypto(_)
            | ClusterError::BookCorrupt(_)
            | ClusterError::BookSync(_) => RetCode::Error,
        }
    }
}

pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retcodes_are_stable() {
        let h = Hash32::default();
        assert_eq!(ClusterError::NotApproved(h).retcode(), RetCode::SignAlien);
        assert_eq!(
            ClusterError::BadSignature(h).retcode(),
            RetCode::SignIncorrect
        );
        assert_eq!(ClusterError::NoRoute.retcode(), RetCode::ContentNotFound);
        assert_eq!(
            ClusterError::RelayFull { children: 4 }.retcode(),
            RetCode::ContentUnavailable
        );
        assert_eq!(
            ClusterError::Malformed("x").retcode(),
            RetCode::ArgIncorrect
        );
    }
}
