# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# The apply script's body: configures the node's runtime for Dragonfly (see lib/node/scripts.ts).
# Follows the generated header, common.sh and the awk programs its runtime needs
# (containerd: AWK_TOML_READ, AWK_TOML_INSPECT, AWK_TOML_TLS, AWK_TOML_CONFIG_PATH; Docker:
# AWK_DOCKER_JSON).
DEFAULT_HOSTS_DIR=/etc/containerd/certs.d
DROPIN=/etc/systemd/system/$RUNTIME.service.d/http-proxy.conf
# With proxy credentials: the proxy URLs go into this file (mode 0600) through EnvironmentFile=,
# because systemd shows every Environment= value to any local user (systemctl show).
PROXY_ENV_FILE=/etc/systemd/system/$RUNTIME.service.d/http-proxy.env
# With proxy.ca (containerd, proxy mode): the CA the proxy signs intercepted HTTPS with, which
# the routed registries' TLS settings name instead of skipping verification. containerd reads it
# at each pull, so a new CA needs no restart.
PROXY_CA_FILE=/etc/containerd/dragonfly-proxy-ca.crt
desired=()
leftovers=()
