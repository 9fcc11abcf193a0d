module microsandbox/agent

go 1.19
