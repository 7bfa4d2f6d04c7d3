kubectl scale deployment worker --replicas=4
