"""`make rehearse`: the AWS deployment booted on this machine as EC2 would boot it (deploy/README.md,
"The rehearsal")."""
