"""The results index's verdicts are computed from the records' numbers, and can fail."""

from asmr_plugin.reproduce import claims


def table2_record(asmr4: float, siren4: float) -> dict:
    rows = {"ASMR (4)": asmr4, "ASMR (3)": 20.0, "SIREN (4)": siren4, "SIREN (3)": 25.0, "KiloNeRF (3)": 26.0}
    return {"rows": [{"row": name, "final_psnr": value} for name, value in rows.items()]}


def test_table2_confirms_only_when_asmr4_is_above_every_baseline():
    assert claims.verdict("table2", table2_record(31.0, 30.0))[0] == "confirms"
    verdict, why = claims.verdict("table2", table2_record(29.0, 30.0))
    assert verdict == "partly" and "not above SIREN (4)" in why and "ASMR (3)" not in why
    assert claims.verdict("table2", table2_record(10.0, 30.0))[0] == "contradicts"


def test_table10_allows_the_papers_gap_below_siren_and_needs_asmr_above_kilonerf():
    def record(asmr: float, siren: float, kilonerf: float) -> dict:
        values = {"asmr": asmr, "siren": siren, "kilonerf": kilonerf}
        return {"rows": [{"row": name, "psnr_mean": value} for name, value in values.items()]}

    assert claims.verdict("table10", record(27.0, 30.0, 25.0))[0] == "confirms"
    assert claims.verdict("table10", record(22.0, 30.0, 21.0))[0] == "partly"  # 8 dB under SIREN
    assert claims.verdict("table10", record(20.0, 30.0, 21.0))[0] == "contradicts"


def test_fig3_confirms_when_asmr_rises_with_depth():
    def record(*psnrs: float) -> dict:
        rows = [{"model": f"ASMR ({layers})", "final_psnr": psnr, "macs_with_bias": 1300.0} for layers, psnr in zip(range(3, 8), psnrs)]
        return {"rows": rows + [{"model": "LoE (6)", "final_psnr": 40.0, "macs_with_bias": 1.0}]}

    assert claims.verdict("fig3", record(20.0, 22.0, 23.0))[0] == "confirms"
    assert claims.verdict("fig3", record(20.0, 24.0, 23.0))[0] == "partly"
    assert claims.verdict("fig3", record(24.0, 22.0, 20.0))[0] == "contradicts"


def test_items_without_a_testable_claim_say_why():
    verdict, why = claims.verdict("fig9", {})
    assert verdict == "cannot test" and "qualitative" in why


def test_the_grid_is_reported_beside_the_verdict_and_does_not_change_it():
    record = table2_record(31.0, 30.0)
    record["rows"].append({"row": "Grid (ASMR's params)", "final_psnr": 33.0})
    verdict, why = claims.verdict("table2", record)
    assert verdict == "confirms" and "dense grid at ASMR's parameters 33.00 dB, above ASMR" in why
    audio = {"rows": [{"row": "asmr", "final_psnr": 50.0}, {"row": "siren", "final_psnr": 40.0}]}
    audio["rows"].append({"row": "grid", "final_psnr": 45.0})
    verdict, why = claims.verdict("table4", audio)
    assert verdict == "confirms" and "45.00 dB, under ASMR" in why and "not above" not in why
