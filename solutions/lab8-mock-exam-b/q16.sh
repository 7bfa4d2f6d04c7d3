kubectl patch service basket -p '{"spec":{"sessionAffinity":"ClientIP"}}'
