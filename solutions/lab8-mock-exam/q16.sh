kubectl patch service cart -p '{"spec":{"sessionAffinity":"ClientIP"}}'
