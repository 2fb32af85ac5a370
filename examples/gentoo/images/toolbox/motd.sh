# Shown on login to the toolbox.
printf 'toolbox: curl jq dig nc psql redis-cli nano htop busybox\n'
