//! Multi-process tests: real `registry-node` and `talent-verify` binaries, real RocksDB on
//! disk, real HTTP on 127.0.0.1. One module per issue (`issue_N`), and `serving` for how a
//! node serves HTTP (its server threads, shutdown), and `adversarial`, the standing suite of
//! attacks (issue 19).

mod adversarial;
mod issue_2;
mod issue_21;
mod issue_22_holder_page;
mod issue_22_holders;
mod issue_22_namespaces;
mod issue_22_public_audit;
mod issue_22_query_log;
mod issue_22_tls;
mod issue_22_vc_api;
mod issue_23_backup;
mod issue_23_metrics;
mod issue_23_object_store;
mod issue_23_packaging;
mod issue_3;
mod issue_4;
mod issue_4_byzantine;
mod issue_5;
mod issue_6;
mod issue_7;
mod issue_8_console;
mod issue_8_import;
mod issue_8_pages;
mod issue_8_statistics;
mod serving;
