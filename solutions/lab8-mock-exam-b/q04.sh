kubectl patch service ledger -p '{"spec":{"selector":{"app":"ledger"}}}'
