kubectl scale deployment render --replicas=3
