//! Where crit keeps models, sessions, config and logs (from `directories`,
//! each overridable by an environment variable).

use std::path::PathBuf;

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "crit")
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Model cache (`CRIT_CACHE`).
pub fn cache_dir() -> PathBuf {
    env_path("CRIT_CACHE")
        .or_else(|| project_dirs().map(|d| d.cache_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from(".crit-cache"))
}

/// Default sessions directory (`CRIT_SESSIONS`).
pub fn sessions_dir() -> PathBuf {
    env_path("CRIT_SESSIONS")
        .or_else(|| project_dirs().map(|d| d.data_dir().join("sessions")))
        .unwrap_or_else(|| PathBuf::from("sessions"))
}

/// Data dir for logs (`CRIT_DATA`).
pub fn data_dir() -> PathBuf {
    env_path("CRIT_DATA")
        .or_else(|| project_dirs().map(|d| d.data_dir().to_path_buf()))
        .unwrap_or_else(|| PathBuf::from(".crit-data"))
}

/// Config file (`CRIT_CONFIG` names the file itself).
pub fn config_file() -> PathBuf {
    env_path("CRIT_CONFIG")
        .or_else(|| project_dirs().map(|d| d.config_dir().join("config.toml")))
        .unwrap_or_else(|| PathBuf::from("crit.toml"))
}

pub fn hash_cache_file() -> PathBuf {
    cache_dir().join("sha256-cache.tsv")
}

pub fn log_dir() -> PathBuf {
    data_dir().join("logs")
}
