kubectl patch service search -p '{"spec":{"ports":[{"port":80,"targetPort":8080}]}}'
