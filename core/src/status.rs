//! Credential status codes, those of the national e-licence practice (01 有效 valid, 02 暂扣
//! suspended, 03 撤销 revoked, 04 注销 cancelled, 05 失效 expired, 06 办理转出 transferred out,
//! 07 吊销 revoked as a penalty, 99 其他 other), and which changes between them are possible.
//!
//! A credential starts `01` (valid). Suspension (`02`) can be lifted; every other change is
//! final. `05` (expired) follows from `validUntil` and is never set by hand; `99` (other) is
//! not issued by this registry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A credential's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialStatus {
    /// 01 有效.
    Valid,
    /// 02 暂扣: can return to valid.
    Suspended,
    /// 03 撤销: annulled (issued in error or on false grounds).
    Revoked,
    /// 04 注销: cancelled (no longer needed, e.g. an accreditation withdrawn).
    Cancelled,
    /// 05 失效: expired; follows from `validUntil`.
    Expired,
    /// 06 办理转出: transferred out; the successor credential links back.
    TransferredOut,
    /// 07 吊销: revoked as a penalty.
    RevokedAsPenalty,
}

impl CredentialStatus {
    /// Every status, by code.
    pub const ALL: [CredentialStatus; 7] = [
        CredentialStatus::Valid,
        CredentialStatus::Suspended,
        CredentialStatus::Revoked,
        CredentialStatus::Cancelled,
        CredentialStatus::Expired,
        CredentialStatus::TransferredOut,
        CredentialStatus::RevokedAsPenalty,
    ];

    /// The two-digit national code.
    pub fn code(self) -> &'static str {
        match self {
            CredentialStatus::Valid => "01",
            CredentialStatus::Suspended => "02",
            CredentialStatus::Revoked => "03",
            CredentialStatus::Cancelled => "04",
            CredentialStatus::Expired => "05",
            CredentialStatus::TransferredOut => "06",
            CredentialStatus::RevokedAsPenalty => "07",
        }
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            CredentialStatus::Valid => "有效",
            CredentialStatus::Suspended => "暂扣",
            CredentialStatus::Revoked => "撤销",
            CredentialStatus::Cancelled => "注销",
            CredentialStatus::Expired => "失效",
            CredentialStatus::TransferredOut => "办理转出",
            CredentialStatus::RevokedAsPenalty => "吊销",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            CredentialStatus::Valid => "valid",
            CredentialStatus::Suspended => "suspended",
            CredentialStatus::Revoked => "revoked",
            CredentialStatus::Cancelled => "cancelled",
            CredentialStatus::Expired => "expired",
            CredentialStatus::TransferredOut => "transferred out",
            CredentialStatus::RevokedAsPenalty => "revoked as a penalty",
        }
    }

    /// Whether a credential in this status counts as valid.
    pub fn is_valid(self) -> bool {
        self == CredentialStatus::Valid
    }

    /// Whether a logged change may take a credential from `self` to `next`.
    ///
    /// # Errors
    /// [`StatusError::Transition`] naming both statuses.
    pub fn check_transition(self, next: CredentialStatus) -> Result<(), StatusError> {
        use CredentialStatus::*;
        let allowed = matches!(
            (self, next),
            (
                Valid,
                Suspended | Revoked | Cancelled | TransferredOut | RevokedAsPenalty
            ) | (Suspended, Valid | Revoked | Cancelled | RevokedAsPenalty)
        );
        if allowed {
            Ok(())
        } else {
            Err(StatusError::Transition {
                from: self,
                to: next,
            })
        }
    }
}

impl fmt::Display for CredentialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.label_zh())
    }
}

/// Why a status or status change is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StatusError {
    /// Not one of the codes.
    #[error("{0:?} is not a status code (01, 02, 03, 04, 05, 06, 07)")]
    UnknownCode(String),
    /// The change is impossible from the current status.
    #[error("a credential cannot go from {from} to {to}")]
    Transition {
        /// Current status.
        from: CredentialStatus,
        /// Requested status.
        to: CredentialStatus,
    },
}

impl FromStr for CredentialStatus {
    type Err = StatusError;

    fn from_str(code: &str) -> Result<CredentialStatus, StatusError> {
        CredentialStatus::ALL
            .into_iter()
            .find(|status| status.code() == code)
            .ok_or_else(|| StatusError::UnknownCode(code.to_owned()))
    }
}

impl Serialize for CredentialStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for CredentialStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CredentialStatus::*;

    #[test]
    fn codes_round_trip() {
        for status in CredentialStatus::ALL {
            assert_eq!(status.code().parse::<CredentialStatus>(), Ok(status));
        }
        assert!("99".parse::<CredentialStatus>().is_err());
        assert!("1".parse::<CredentialStatus>().is_err());
    }

    #[test]
    fn only_suspension_is_undone() {
        assert!(Valid.check_transition(Suspended).is_ok());
        assert!(Suspended.check_transition(Valid).is_ok());
        assert!(Valid.check_transition(Cancelled).is_ok());
        for terminal in [Revoked, Cancelled, TransferredOut, RevokedAsPenalty] {
            for next in CredentialStatus::ALL {
                assert!(
                    terminal.check_transition(next).is_err(),
                    "{terminal} → {next}"
                );
            }
        }
        for status in CredentialStatus::ALL {
            assert!(status.check_transition(Expired).is_err());
            assert!(status.check_transition(status).is_err());
        }
    }
}
