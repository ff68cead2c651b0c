#!/bin/sh
# What an agent might try in a kro session: a read, a delete, a delete hidden behind a flag value,
# and a Secret's values. Run it with: kro-run --demo --output plain -- sh -x contrib/examples/agent.sh
kubectl get pods -n demo
kubectl delete deployment web -n demo
kubectl -n get delete pod x
kubectl get secret db-creds -n demo -o yaml
