kubectl patch service billing -p '{"spec":{"selector":{"app":"billing"}}}'
