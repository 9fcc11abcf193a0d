package main

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// The HELLO lists exactly the agentFeatures of the operation table.
func TestFeaturesMatchOperationTable(t *testing.T) {
	data, err := os.ReadFile("../protocol/operations.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		AgentFeatures []string `json:"agentFeatures"`
	}
	if err := json.Unmarshal(data, &table); err != nil {
		t.Fatal(err)
	}
	if len(table.AgentFeatures) == 0 || !reflect.DeepEqual(features, table.AgentFeatures) {
		t.Fatalf("HELLO features %v, operations.json agentFeatures %v", features, table.AgentFeatures)
	}
}
