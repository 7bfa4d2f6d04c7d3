kubectl patch service index -p '{"spec":{"ports":[{"port":9200,"targetPort":8080}]}}'
