kubectl label pod cache-2 tier=cache
