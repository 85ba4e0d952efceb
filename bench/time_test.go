package main

import (
	"strings"
	"testing"
	"time"

	"github.com/simplang/simplang/loader"
)

func TestTokenTime(t *testing.T) {
	us := func(v int) time.Duration { return time.Duration(v) * time.Microsecond }
	tr := &loader.Trace{Runs: []loader.LoopRun{
		{Split: us(10), Threads: []loader.ThreadShare{{Thread: 1, Start: us(11), End: us(40)}, {Thread: 0, Start: us(10), End: us(50)}}},
		{Split: us(60), Threads: []loader.ThreadShare{{Thread: 0, Start: us(61), End: us(90)}, {Thread: 1, Start: us(62), End: us(95)}}},
	}}
	got := *tokenTime(tr, us(120))
	// in loops 40 + 35, apart 10 + 5, between 60 − 50, outside 120 − (95 − 10)
	want := TokenTime{Loops: 2, InLoops: 0.075, Apart: 0.015, Between: 0.010, Outside: 0.035}
	const eps = 1e-9
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"loops", got.Loops, want.Loops}, {"in loops", got.InLoops, want.InLoops}, {"apart", got.Apart, want.Apart},
		{"between", got.Between, want.Between}, {"outside", got.Outside, want.Outside}} {
		if d := c.got - c.want; d > eps || d < -eps {
			t.Errorf("%s = %v ms, want %v", c.name, c.got, c.want)
		}
	}
	if sum := got.InLoops + got.Between + got.Outside; sum < 0.12-eps || sum > 0.12+eps {
		t.Errorf("in loops + between + outside = %v ms, want the token's 0.12", sum)
	}
	if none := *tokenTime(&loader.Trace{}, us(30)); none != (TokenTime{Outside: ms(us(30))}) {
		t.Errorf("a token without parallel loops: %+v, want all of it outside", none)
	}

	r := &Report{Results: []Result{
		{Model: "125M", Weights: "q4", GroupSize: 32, Pages: "huge", Threads: 2, MsPerToken: 0.12, Time: &got},
		{Model: "125M", Weights: "f32", Pages: "huge", Threads: 2, MsPerToken: 1},
	}}
	table := r.timeTable()
	for _, want := range []string{"### Where a token's time goes", "| LLaMA 125M | q4/32 | huge | 2 | 0.120 ms | 2 | 0.075 ms (62%) | 0.015 ms (12%) | 0.010 ms (8%) | 0.035 ms (29%) |"} {
		if !strings.Contains(table, want) {
			t.Errorf("time table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "| f32 |") {
		t.Errorf("time table lists a row that was not traced:\n%s", table)
	}
	if (&Report{Results: r.Results[1:]}).timeTable() != "" {
		t.Error("a report without traced rows has a time table")
	}
}
