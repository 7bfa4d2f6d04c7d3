kubectl label pod session-2 role=session-store
